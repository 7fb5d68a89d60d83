"""A look-up harmoniser: how much the bar's melody tells about its chords, without a model.

    python scripts/harmony_lookup.py [path/to/nottingham]

Per beat, the key: the tune's mode and the three pitch classes (relative to the tonic)
that hold most of its bar's melody duration; the answer: the chord most often written
over that key in the training tunes (relative to the tonic), else the key baseline's
chord. Prints its chord accuracy per beat on the validation and test tunes of the
harmonisers' split, beside the key baseline's. A yardstick for the harmonisers (they see
the same melody and more), not one of ``musicgen-eval``'s systems.
"""

from __future__ import annotations

import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

from musicgen.data.pairs import HarmonyDataModule
from musicgen.metrics.harmony import harmony_case
from musicgen.metrics.harmony_baselines import KeyChordBaseline, tune_key
from musicgen.tokenizers.chords import Chord


def bar_keys(score, chords) -> list[tuple]:
    """``(mode, top-3 pitch classes of the beat's bar)`` for each beat, tonic at 0."""
    case, (tonic, mode) = harmony_case(score, chords), tune_key(score)
    weight: dict[int, Counter] = defaultdict(Counter)
    for note in case.notes:  # the duration of each note, split at bar lines
        t, end = note.onset, note.onset + note.duration
        while t < end:
            bar = math.floor((t - case.bar_start) / case.beats_per_bar)
            stop = min(end, case.bar_start + (bar + 1) * case.beats_per_bar)
            weight[bar][(note.pitch - tonic) % 12] += stop - t
            t = stop
    bars = [math.floor((b - case.bar_start) / case.beats_per_bar) for b in range(len(chords))]
    return [(mode, frozenset(pc for pc, _ in weight[bar].most_common(3))) for bar in bars]


def main(root: Path) -> None:
    dm = HarmonyDataModule(str(root / "*.abc"))
    dm.setup()
    real = {}  # each split's chords per beat, in each tune's own key
    for split in ("train", "val", "test"):
        pairs = zip(dm.tunes(split), dm.dataset(split), strict=True)
        real[split] = [dm.tokenizer.chords(target, score) for score, (_, target) in pairs]
    baseline = KeyChordBaseline().fit(zip(dm.tunes("train"), real["train"], strict=True))
    table: dict[tuple, Counter] = defaultdict(Counter)
    for score, chords in zip(dm.tunes("train"), real["train"], strict=True):
        tonic = tune_key(score)[0]
        for key, c in zip(bar_keys(score, chords), chords, strict=True):
            if c is not None:
                table[key][Chord((c.root - tonic) % 12, c.quality)] += 1
    for split in ("val", "test"):
        hits = key_hits = n = 0
        for score, chords in zip(dm.tunes(split), real[split], strict=True):
            tonic, fallback = tune_key(score)[0], baseline.chord(*tune_key(score))
            for key, c in zip(bar_keys(score, chords), chords, strict=True):
                if c is None:
                    continue
                best = table[key].most_common(1)[0][0] if table.get(key) else None
                guess = Chord((best.root + tonic) % 12, best.quality) if best else fallback
                n, hits, key_hits = n + 1, hits + (guess == c), key_hits + (fallback == c)
        print(f"{split}: look-up {hits / n:.3f}, key baseline {key_hits / n:.3f} ({n} beats)")


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[1]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared/data/abc/nottingham")
