"""Can a classifier tell generated pieces from real ones? A classifier two-sample test.

After Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample tests" (ICLR): train a
classifier on half of two sets, score it on the other half. Held-out accuracy near 0.5
means it cannot tell them apart; near 1.0, the sets differ in what the features see.

Features: per piece, the relative frequencies of 1- to 3-grams of the melodic line's
intervals (clipped to an octave) and of its note lengths. The classifier is an
L2-regularised logistic regression fitted by gradient descent, in numpy (no scikit-learn).
The interval is Wilson's score interval for a binomial proportion (Wilson 1927), which
stays inside [0, 1] and keeps its coverage at the few tens of test pieces a run scores.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from musicgen.metrics.bars import melodic_line
from musicgen.metrics.histograms import MAX_INTERVAL
from musicgen.music.score import Score

ORDERS = (1, 2, 3)  # n-gram lengths
MIN_PER_CLASS = 4  # each half needs at least 2 pieces of each set
Z95 = 1.959964  # the standard normal's 97.5% quantile: a two-sided 95% interval


class TwoSampleResult(NamedTuple):
    """Held-out accuracy, its 95% Wilson interval, and how many pieces it was scored on."""

    accuracy: float
    ci: tuple[float, float]
    n_test: int


def ngram_counts(score: Score) -> dict[tuple, float]:
    """One piece's features: ``(family, n, gram) -> share`` of its n-grams of that family.

    Families are ``"interval"`` (semitones between successive notes of the melodic line,
    clipped to +-``MAX_INTERVAL``) and ``"duration"`` (the line's note lengths in quarter
    notes). Shares are per (family, n) block, so a long piece and a short one with the
    same style get the same features.
    """
    line = melodic_line(score.notes)
    steps = np.diff([n.pitch for n in line]).clip(-MAX_INTERVAL, MAX_INTERVAL)
    sequences = {"interval": steps.tolist(), "duration": [n.duration for n in line]}
    features: dict[tuple, float] = {}
    for family, seq in sequences.items():
        for n in ORDERS:
            grams = Counter(tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))
            total = sum(grams.values())
            features |= {(family, n, g): c / total for g, c in grams.items()}
    return features


def feature_matrix(pieces: Sequence[dict[tuple, float]], columns: dict[tuple, int]) -> np.ndarray:
    """Rows of features (pieces, len(columns)); n-grams without a column are dropped."""
    x = np.zeros((len(pieces), len(columns)))
    for row, piece in enumerate(pieces):
        for gram, share in piece.items():
            col = columns.get(gram)
            if col is not None:
                x[row, col] = share
    return x


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 300) -> np.ndarray:
    """Weights (d + 1,), bias last, of an L2-regularised logistic regression.

    Full-batch gradient descent on the mean log-loss plus ``l2 / (2 n) * |w|^2``: the loss
    is convex, so a fixed step converges, and the result does not depend on any seed.
    """
    n = len(x)
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(xb.shape[1])
    # 1 / L, with L an upper bound on the loss's curvature (|X|^2 / 4n plus the L2 term)
    lr = 1.0 / (np.linalg.norm(xb, 2) ** 2 / (4 * n) + l2 / n)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) / n
        grad[:-1] += l2 / n * w[:-1]  # the bias is not shrunk
        w -= lr * grad
    return w


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``correct / n`` (``(0, 1)`` for n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def classifier_two_sample(
    generated: Sequence[Score], real: Sequence[Score], seed: int = 0
) -> TwoSampleResult | None:
    """How well a classifier tells ``generated`` from ``real`` on held-out pieces.

    The larger set is subsampled to the size of the smaller, so 0.5 is chance; each set is
    shuffled (``seed``) and halved, the classifier fits the first halves (features
    standardised on them) and is scored on the second.

    Returns:
        The result, or None when either set has fewer than ``MIN_PER_CLASS`` pieces.
    """
    rng = np.random.default_rng(seed)
    k = min(len(generated), len(real))
    if k < MIN_PER_CLASS:
        return None
    halves = []
    for pieces in (generated, real):
        chosen = rng.permutation(len(pieces))[:k]
        feats = [ngram_counts(pieces[i]) for i in chosen]
        halves.append((feats[: k // 2], feats[k // 2 :]))
    (gen_fit, gen_test), (real_fit, real_test) = halves
    seen = sorted({g for f in gen_fit + real_fit for g in f}, key=repr)  # a fixed order
    columns = {g: i for i, g in enumerate(seen)}
    x_fit = feature_matrix(gen_fit + real_fit, columns)
    mean, std = x_fit.mean(axis=0), x_fit.std(axis=0) + 1e-3  # floor: n-grams seen once
    y_fit = np.r_[np.ones(len(gen_fit)), np.zeros(len(real_fit))]
    w = fit_logistic((x_fit - mean) / std, y_fit)
    x_test = (feature_matrix(gen_test + real_test, columns) - mean) / std
    y_test = np.r_[np.ones(len(gen_test)), np.zeros(len(real_test))]
    predicted = (x_test @ w[:-1] + w[-1]) > 0
    correct = int((predicted == (y_test == 1)).sum())
    n = len(y_test)
    return TwoSampleResult(correct / n, wilson_interval(correct, n), n)
