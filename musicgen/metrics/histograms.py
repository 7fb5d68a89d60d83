"""Pooled histograms of a set of scores, and how close two of them are.

After Yang & Lerch 2020, "On the evaluation of generative models in music" (Neural
Computing and Applications 32): a set of pieces is described by the distribution of a
feature over all its pieces, and two sets are compared through the overlap and the
KL divergence of those distributions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

from musicgen.metrics.bars import melodic_line
from musicgen.music.score import Score

F = Fraction
# Note lengths in quarter notes: 32nd to whole note, dotted values, eighth/quarter triplets.
DURATION_VALUES = (
    F(1, 8), F(1, 6), F(1, 4), F(1, 3), F(3, 8), F(1, 2), F(2, 3), F(3, 4),
    F(1), F(4, 3), F(3, 2), F(2), F(3), F(4),
)  # fmt: skip
MAX_INTERVAL = 12  # melodic intervals are clipped to an octave either way
_PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
HISTOGRAM_BINS: dict[str, list[str]] = {
    "pitch_class": list(_PITCH_NAMES),
    "duration": [str(d) for d in DURATION_VALUES] + ["other"],
    "interval": [f"{i:+d}" if i else "0" for i in range(-MAX_INTERVAL, MAX_INTERVAL + 1)],
}
_DURATION_BIN = {d: i for i, d in enumerate(DURATION_VALUES)}


def _normalised(counts: Sequence[float]) -> list[float]:
    """``counts`` over their sum; all zeros (an empty set) stay all zeros."""
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0] * len(counts)


def pitch_class_histogram(scores: Iterable[Score]) -> list[float]:
    """Share of the pitched notes of all ``scores`` on each pitch class, C to B (12 bins).

    Each note counts once, whatever its length (counts, not durations: a held note and a
    passing note are both one choice of the model).
    """
    counts = [0] * 12
    for score in scores:
        for n in score.notes:
            if not n.is_drum:
                counts[n.pitch % 12] += 1
    return _normalised(counts)


def duration_histogram(scores: Iterable[Score]) -> list[float]:
    """Share of the pitched notes of all ``scores`` per length (bins: ``HISTOGRAM_BINS``).

    A note falls in the bin of its exact length in quarter notes (``DURATION_VALUES``,
    1/8 to 4) or in the last bin, ``"other"``.
    """
    counts = [0] * (len(DURATION_VALUES) + 1)
    for score in scores:
        for n in score.notes:
            if not n.is_drum:
                counts[_DURATION_BIN.get(n.duration, len(DURATION_VALUES))] += 1
    return _normalised(counts)


def interval_histogram(scores: Iterable[Score]) -> list[float]:
    """Share of the melodic intervals of all ``scores`` per size, -12 to +12 semitones.

    The intervals are between successive notes of each score's top line
    (:func:`~musicgen.metrics.bars.melodic_line`: the tune itself for a single line),
    clipped to an octave either way (25 bins); none spans two scores.
    """
    counts = [0] * (2 * MAX_INTERVAL + 1)
    for score in scores:
        pitches = [n.pitch for n in melodic_line(score.notes)]
        for a, b in zip(pitches, pitches[1:], strict=False):
            step = max(-MAX_INTERVAL, min(MAX_INTERVAL, b - a))
            counts[step + MAX_INTERVAL] += 1
    return _normalised(counts)


def histograms(scores: Iterable[Score]) -> dict[str, list[float]]:
    """The three pooled histograms of a set, keyed as ``HISTOGRAM_BINS``."""
    scores = list(scores)
    return {
        "pitch_class": pitch_class_histogram(scores),
        "duration": duration_histogram(scores),
        "interval": interval_histogram(scores),
    }


def overlap_area(p: Sequence[float], q: Sequence[float]) -> float:
    """``sum(min(p_i, q_i))`` of two normalised histograms: 1 identical, 0 disjoint.

    Raises:
        ValueError: when the histograms have different numbers of bins.
    """
    if len(p) != len(q):
        raise ValueError(f"histograms have {len(p)} and {len(q)} bins")
    return float(sum(min(a, b) for a, b in zip(p, q, strict=True)))


def kl_divergence(
    reference: Sequence[float], generated: Sequence[float], eps: float = 1e-6
) -> float:
    """``KL(reference || generated)`` in nats, after additive smoothing.

    Direction: the reference (real music) is the true distribution, so the divergence
    grows when the model gives little weight to what real music does often; a bin the
    reference never uses costs little. Smoothing: ``eps`` is added to every bin of both
    histograms, which are then renormalised, so an empty bin of ``generated`` gives a
    large finite value instead of infinity. Identical histograms give exactly 0.

    Raises:
        ValueError: when the histograms have different numbers of bins.
    """
    if len(reference) != len(generated):
        raise ValueError(f"histograms have {len(reference)} and {len(generated)} bins")
    p = _normalised([x + eps for x in reference])
    q = _normalised([x + eps for x in generated])
    return float(sum(a * math.log(a / b) for a, b in zip(p, q, strict=True)))
