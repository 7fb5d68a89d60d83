"""``HarmonyTokenizer``: a melody as per-note features, its chords as one token per beat.

The harmoniser's two sequences. The source is the melody, one position per note, each a
4-tuple of small integers ``(pitch, duration, position in bar, beat)``; the target is one
chord token per beat. One chord per beat, rather than one per chord change, because then
the target's length and timing follow from the melody alone: the decoder needs no duration
tokens and no stop decision, chord step t sits at beat t (which both models use as its
time position, beside the notes' own beats), and accuracy per beat is a plain comparison.

A beat is a quarter note, except in compound meters (6/8, 9/8, 12/8) where it is a dotted
quarter. Beats are counted from the first bar line backwards over any upbeat, so beat 0
holds the upbeat and every bar starts on a beat. The meter in force at time 0 sets the
beat for the whole tune.

With ``key_relative`` both sequences are transposed so that the tune's tonic is C (by
-5 … +6 semitones): the model then learns chords relative to the key, as the key baseline
counts them, instead of learning each progression again in every key (411 training tunes
hold G and D major ten times as often as any other key). :meth:`HarmonyTokenizer.chords`
moves decoded chords back. The tonic is the score's key signature, else the
Krumhansl-Schmuckler estimate of the melody. Never imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from musicgen.music.keys import estimate_key
from musicgen.music.score import Note, Score, tonic_pitch_class
from musicgen.tokenizers.base import (
    BOS,
    EOS,
    PAD,
    load_tokenizer,
    register_tokenizer,
    save_tokenizer,
)
from musicgen.tokenizers.chords import NO_CHORD, Chord, all_chords, parse_chord

STEPS_PER_BEAT = 12  # sub-beat grid of the note features: sixteenths and triplets exactly
MAX_DURATION = 4 * STEPS_PER_BEAT  # longer notes are clipped to four beats
MAX_POSITION = 12 * STEPS_PER_BEAT  # onsets in bars longer than 12 beats are clipped
N_PITCHES = 128
FEATURES = ("pitch", "duration", "position", "beat")
BEAT = FEATURES.index("beat")  # the column of a feature tuple holding its beat
# sizes of the embedded features' id ranges; id 0 of each is padding
FEATURE_SIZES = (N_PITCHES + 1, MAX_DURATION + 1, MAX_POSITION + 1)


class HarmonyInputError(ValueError):
    """A score that cannot be harmonised: no melody notes, or too many notes at once."""


def beat_length(score: Score) -> Fraction:
    """Quarter notes per beat: a dotted quarter in 6/8, 9/8, 12/8, else 4/denominator."""
    ts = score.time_signature_at(Fraction(0))
    if ts.denominator == 8 and ts.numerator % 3 == 0 and ts.numerator > 3:
        return Fraction(3, 2)
    return Fraction(4, ts.denominator)


def beat_origin(score: Score) -> Fraction:
    """Time of beat 0: the first bar line moved back by whole beats over the upbeat (≤ 0)."""
    beat = beat_length(score)
    return score.pickup - math.ceil(score.pickup / beat) * beat


def n_beats(score: Score) -> int:
    """Beats from beat 0 to the end of the last note."""
    return max(math.ceil((score.end - beat_origin(score)) / beat_length(score)), 0)


def melody_notes(score: Score, where: str = "the score", max_chord_share: float = 0.2) -> list:
    """The melody: the highest non-drum note at each onset (a skyline).

    Raises:
        HarmonyInputError: when there is no pitched note, or more than ``max_chord_share`` of
            the onsets hold several notes (an accompaniment, not a melody).
    """
    by_onset: dict[Fraction, list[Note]] = {}
    for n in score.notes:
        if not n.is_drum and n.duration > 0:
            by_onset.setdefault(n.start, []).append(n)
    if not by_onset:
        raise HarmonyInputError(f"{where}: no melody notes to harmonise")
    stacked = sum(len(v) > 1 for v in by_onset.values()) / len(by_onset)
    if stacked > max_chord_share:
        raise HarmonyInputError(
            f"{where}: {stacked:.0%} of its onsets sound several notes at once; give a"
            " single-line melody (a melody track, not a piano part)"
        )
    return [max(v, key=lambda n: n.pitch) for _, v in sorted(by_onset.items())]


def chords_per_beat(score: Score) -> list[Chord | None]:
    """The chord sounding over most of each beat, from ``score.chord_symbols``.

    A symbol lasts until the next one; before the first, and for a symbol the vocabulary
    cannot map, the beat has no chord (None).
    """
    beat, origin, count = beat_length(score), beat_origin(score), n_beats(score)
    symbols = score.chord_symbols
    spans = [
        (s.start, symbols[i + 1].start if i + 1 < len(symbols) else None, parse_chord(s.text))
        for i, s in enumerate(symbols)
    ]
    out: list[Chord | None] = []
    for t in range(count):
        lo, hi = origin + t * beat, origin + (t + 1) * beat
        best, best_len = None, Fraction(0)
        for start, end, chord in spans:
            overlap = min(hi, end if end is not None else hi) - max(lo, start)
            if overlap > best_len:
                best, best_len = chord, overlap
        out.append(best)
    return out


def tonic_of(score: Score) -> int:
    """The tonic's pitch class: the key signature's, else the Krumhansl-Schmuckler estimate."""
    if score.key is not None:
        return tonic_pitch_class(score.key.tonic)
    return estimate_key(score)[0]


def _moved(chord: Chord | None, semitones: int) -> Chord | None:
    return None if chord is None else Chord((chord.root + semitones) % 12, chord.quality)


@register_tokenizer("harmony")
class HarmonyTokenizer:
    """Melody features in, chord tokens per beat out (see the module docstring).

    ``encode(score)`` gives the target ``[<bos>, chord of beat 0, …]``; ``encode_melody``
    the source features; ``decode(ids)`` the chords (None for no chord), specials skipped.

    With ``key_relative`` the ids are in the tune's key moved to C: ``decode`` gives those
    chords, ``chords(ids, score)`` the score's own.

    Args:
        max_beats: longest tune in beats; longer tunes are cut there.
        key_relative: transpose every tune to a tonic of C (see the module docstring).
    """

    kind = "harmony"  # a melody in, chords out: samples are harmonised scores

    def __init__(self, max_beats: int = 1024, key_relative: bool = False) -> None:
        self.max_beats = max_beats
        self.key_relative = key_relative
        self._chords = all_chords()
        self._tokens = [PAD, BOS, EOS, f"Chord_{NO_CHORD}", *(c.token for c in self._chords)]
        self._ids = {c: i + 4 for i, c in enumerate(self._chords)}

    @property
    def vocab(self) -> list[str]:
        return list(self._tokens)

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    pad_id, bos_id, eos_id, no_chord_id = 0, 1, 2, 3

    def chord_id(self, chord: Chord | None) -> int:
        return self.no_chord_id if chord is None else self._ids[chord]

    def chord_of(self, token_id: int) -> Chord | None:
        """The chord of one id (None for ``Chord_N`` and the specials)."""
        return self._chords[token_id - 4] if token_id >= 4 else None

    def transposition(self, score: Score) -> int:
        """Semitones (-5 … +6) that move the score's tonic to C; 0 unless ``key_relative``."""
        if not self.key_relative:
            return 0
        return (6 - tonic_of(score)) % 12 - 6

    def encode(self, score: Score) -> list[int]:
        chords = chords_per_beat(score)[: self.max_beats]
        shift = self.transposition(score)
        return [self.bos_id, *(self.chord_id(_moved(c, shift)) for c in chords)]

    def chords(self, ids: Sequence[int], score: Score) -> list[Chord | None]:
        """``decode(ids)`` in the key of ``score``: the inverse of ``encode``'s transposition."""
        shift = -self.transposition(score)
        return [_moved(c, shift) for c in self.decode(ids)]

    def encode_melody(self, score: Score, where: str = "the score") -> list[tuple[int, ...]]:
        """One ``(pitch + 1, duration, position + 1, beat)`` tuple per melody note."""
        beat, origin = beat_length(score), beat_origin(score)
        notes = melody_notes(score, where)  # first: a score without notes has no key either
        step, shift = beat / STEPS_PER_BEAT, self.transposition(score)
        bar_steps = round(score.time_signature_at(Fraction(0)).bar_length / step)
        out = []
        for n in notes:
            onset = round((n.start - origin) / step)
            if onset // STEPS_PER_BEAT >= self.max_beats:
                break
            dur = min(max(round(n.duration / step), 1), MAX_DURATION)
            # the first bar line sits at a whole number of beats after beat 0
            pos = (onset - round((score.pickup - origin) / step)) % bar_steps
            pitch = min(max(n.pitch + shift, 0), N_PITCHES - 1)
            out.append((pitch + 1, dur, min(pos, MAX_POSITION - 1) + 1, onset // STEPS_PER_BEAT))
        return out

    def decode(self, ids: Sequence[int]) -> list[Chord | None]:
        return [self.chord_of(int(i)) for i in ids if int(i) >= self.no_chord_id]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "harmony", "max_beats": self.max_beats, "key_relative": self.key_relative}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HarmonyTokenizer:
        # tokenizers saved before key_relative existed were absolute
        return cls(int(d.get("max_beats", 1024)), bool(d.get("key_relative", False)))

    def save(self, path: str | Path) -> None:
        save_tokenizer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> HarmonyTokenizer:
        return load_tokenizer(path, expect=cls)
