"""Two rule-based harmonisers to compare a model with, one chord per bar. Never imports torch.

- :class:`KeyChordBaseline`: the chord most frequent in the training tunes of the tune's
  key (counted relative to the tonic, per mode, so a D major tune learns from G major
  ones too), held for every bar;
- :func:`melody_cover_chords`: per bar, the vocabulary chord whose tones cover most of
  the melody's duration in that bar.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from musicgen.metrics.harmony import HarmonyCase
from musicgen.metrics.pitch import estimate_key
from musicgen.music import Score
from musicgen.music.score import tonic_pitch_class
from musicgen.tokenizers.chords import QUALITIES, Chord, all_chords

_MINOR_MODES = frozenset({"minor", "aeolian", "dorian", "phrygian", "locrian"})


def tune_key(score: Score) -> tuple[int, str]:
    """``(tonic pitch class, "major" | "minor")``: the written key, else estimated."""
    if score.key is None:
        return estimate_key(score)
    mode = "minor" if score.key.mode.lower() in _MINOR_MODES else "major"
    return tonic_pitch_class(score.key.tonic), mode


class KeyChordBaseline:
    """The most frequent chord of the tune's key, for every beat.

    ``fit`` counts the training tunes' chords (per beat) relative to their tonic; a mode
    never seen gives its tonic triad.
    """

    def __init__(self) -> None:
        self.counts: dict[str, Counter[Chord]] = {"major": Counter(), "minor": Counter()}

    def fit(self, tunes: Iterable[tuple[Score, list[Chord | None]]]) -> KeyChordBaseline:
        for score, chords in tunes:
            tonic, mode = tune_key(score)
            self.counts[mode].update(
                Chord((c.root - tonic) % 12, c.quality) for c in chords if c is not None
            )
        return self

    def chord(self, tonic: int, mode: str) -> Chord:
        """The key's most frequent chord (ties: the earlier vocabulary chord)."""
        counts = self.counts[mode]
        if counts:
            best = max(sorted(counts), key=lambda c: counts[c])
        else:
            best = Chord(0, "min" if mode == "minor" else "maj")
        return Chord((best.root + tonic) % 12, best.quality)

    def harmonise(self, score: Score, n_beats: int) -> list[Chord | None]:
        return [self.chord(*tune_key(score))] * n_beats


def _bar_of(case: HarmonyCase, t) -> int:
    """Bar index of beat time t; bar -1 is an upbeat before the first bar line."""
    return math.floor((t - case.bar_start) / case.beats_per_bar)


def melody_cover_chords(case: HarmonyCase) -> list[Chord | None]:
    """Per bar, the chord whose pitch classes hold most of the bar's melody duration.

    Ties go to the chord with fewer tones (a triad before its seventh chord, which can
    only cover more), then to the earlier quality of ``QUALITIES`` (major, minor, ...),
    then the lower root. A bar without melody keeps the previous bar's chord (the first
    one found for a leading silent bar). Returns one chord per beat of ``case.chords``.
    """
    weight: dict[int, Counter[int]] = {}
    for note in case.notes:  # each note's duration, split at bar lines
        t, end = note.onset, note.onset + note.duration
        while t < end:
            bar = _bar_of(case, t)
            bar_end = case.bar_start + (bar + 1) * case.beats_per_bar
            weight.setdefault(bar, Counter())[note.pitch % 12] += min(end, bar_end) - t
            t = min(end, bar_end)
    order = list(QUALITIES)
    candidates = sorted(
        all_chords(), key=lambda c: (len(c.pitch_classes), order.index(c.quality), c.root)
    )
    best = {
        bar: max(candidates, key=lambda c: sum(w[pc] for pc in c.pitch_classes))
        for bar, w in weight.items()
    }  # max keeps the first of equals: the candidates' order is the tie-break
    if not best:
        return [None] * len(case.chords)
    out, current = [], best[min(best)]
    for beat in range(len(case.chords)):
        current = best.get(_bar_of(case, beat), current)
        out.append(current)
    return out
