"""``musicgen-eval`` for a harmoniser: chord accuracy and NLL per beat, the Yeh et al. metrics.

Four chord sequences are scored on each held-out tune by the same code
(``musicgen.metrics.harmony``): the model's (greedy decoding unless asked otherwise), the
tune's own chords, and two baselines (``musicgen.metrics.harmony_baselines``): the most
frequent chord of the tune's key in every bar, and per bar the chord that covers most of
the melody.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from musicgen.data.pairs import collate_pairs
from musicgen.data.windows import IGNORE_INDEX
from musicgen.generation.harmonize import harmonize
from musicgen.metrics.harmony import harmony_case, harmony_metrics
from musicgen.metrics.harmony_baselines import KeyChordBaseline, melody_cover_chords

SYSTEMS = ("model", "real", "key_baseline", "melody_baseline")


@torch.no_grad()
def chord_nll(model, pairs: list, batch_size: int = 16) -> tuple[float, int]:
    """Teacher-forced chord NLL (nats, summed) and the number of beats scored."""
    total, beats = 0.0, 0
    for i in range(0, len(pairs), batch_size):
        src, tgt_in, tgt_out = collate_pairs(pairs[i : i + batch_size])
        device = next(model.parameters()).device
        logits, _ = model(src.to(device), tgt_in.to(device))  # (B, T, V)
        targets = tgt_out.to(device)
        nll = F.cross_entropy(
            logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
            reduction="sum",
        )  # fmt: skip
        total += float(nll)
        beats += int((targets != IGNORE_INDEX).sum())
    return total, beats


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def _system_chords(model, tokenizer, score, real, key_baseline, decoding) -> dict[str, list]:
    """The four chord sequences of one tune, one chord per beat each."""
    model_chords = harmonize(model, tokenizer, score, **decoding).chords[: len(real)]
    return {
        "model": model_chords,
        "real": real,
        "key_baseline": key_baseline.harmonise(score, len(real)),
        "melody_baseline": melody_cover_chords(harmony_case(score, real)),
    }


def evaluate_harmoniser(
    model, dm, split: str, batch_size: int = 16, method: str = "greedy", beam_width: int = 4
) -> dict:
    """The harmoniser's record on a split of its pair corpus (see the README's fields).

    ``method`` and ``beam_width`` choose the model's decoding (``seq2seq_decode.decode``;
    "sample" draws with seed 0 at temperature 1).

    Returns:
        ``tunes``, ``beats``, ``chord_nll_per_beat`` (teacher forced, nats) and, under
        ``harmony``, for each of :data:`SYSTEMS` the pooled ``chord_accuracy`` per beat
        against the real chords and the tune means of the six Yeh et al. 2021 metrics.
    """
    tok = dm.tokenizer
    model.eval()
    train_pairs = zip(dm.tunes("train"), dm.dataset("train"), strict=True)
    train = [(score, tok.chords(target, score)) for score, (_, target) in train_pairs]
    key_baseline = KeyChordBaseline().fit(train)
    pairs, scores = dm.dataset(split), dm.tunes(split)
    nll, beats = chord_nll(model, pairs, batch_size)
    per_tune = {name: [] for name in SYSTEMS}
    hits = dict.fromkeys(SYSTEMS, 0)
    scored = 0
    decoding = {"method": method, "beam_width": beam_width}
    for score, (_, target) in zip(scores, pairs, strict=True):
        real = tok.chords(target, score)
        scored += sum(c is not None for c in real)
        systems = _system_chords(model, tok, score, real, key_baseline, decoding)
        for name, chords in systems.items():
            # pooled over the split's beats, so a long tune weighs what its beats weigh
            hits[name] += sum(c == r for c, r in zip(chords, real, strict=True) if r is not None)
            per_tune[name].append(harmony_metrics(harmony_case(score, chords)))
    harmony = {}
    for name in SYSTEMS:
        figures = {"chord_accuracy": hits[name] / scored if scored else math.nan}
        for key in per_tune[name][0] if per_tune[name] else ():
            figures[key] = _mean([m[key] for m in per_tune[name]])
        harmony[name] = figures
    return {
        "tunes": len(pairs),
        "beats": beats,
        "nll": nll,
        "chord_nll_per_beat": nll / beats if beats else math.nan,
        "harmony": harmony,
    }
