"""Harmonisation metrics: how well a chord sequence fits a melody. Never imports torch.

The six objective metrics of Yeh et al. 2021, "Automatic melody harmonization with triad
chords: a comparative study" (Journal of New Music Research 50(1), section 5.1), written
for chords given one per beat (``HarmonyTokenizer``'s grid) instead of one per half bar:

- chord progression: :func:`chord_histogram_entropy` (CHE), :func:`chord_coverage` (CC),
  :func:`chord_tonal_distance` (CTD);
- chord against melody: :func:`chord_tone_ratio` (CTnCTR), :func:`pitch_consonance`
  (PCS), :func:`melody_chord_tonal_distance` (MCTD);

plus :func:`chord_accuracy` against reference chords. Beats whose chord is None (no
chord) are left out of every metric. Tonal distances use the tonal centroid of Harte,
Sandler & Gasser 2006 ("Detecting harmonic change in musical audio").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from musicgen.music import Score
from musicgen.tokenizers.chords import Chord
from musicgen.tokenizers.harmony import beat_length, beat_origin, melody_notes

# radii of the fifths, minor-thirds and major-thirds circles (Harte et al. 2006)
_RADII = (1.0, 1.0, 0.5)
_ANGLES = (7 * math.pi / 6, 3 * math.pi / 2, 2 * math.pi / 3)
# pitch consonance (Yeh et al. 2021): unison/octave, thirds, fifth, sixths +1; fourth 0
_CONSONANT, _NEUTRAL = frozenset({0, 3, 4, 7, 8, 9}), 5


@dataclass(frozen=True)
class MelodyNote:
    """A melody note in beats from beat 0 (``HarmonyTokenizer``'s beats)."""

    pitch: int
    onset: Fraction
    duration: Fraction


@dataclass(frozen=True)
class HarmonyCase:
    """A melody and one chord per beat, with the bar grid the baselines need.

    Attributes:
        notes: the melody, by onset. chords: the chord of each beat (None: no chord).
        bar_start: beat of the first bar line. beats_per_bar: beats in a bar.
        beat: quarter notes per beat (sets the sixteenth-note grid of PCS).
    """

    notes: tuple[MelodyNote, ...]
    chords: tuple[Chord | None, ...]
    bar_start: Fraction = Fraction(0)
    beats_per_bar: Fraction = Fraction(4)
    beat: Fraction = Fraction(1)

    def chord_at(self, t: Fraction) -> Chord | None:
        """The chord sounding at beat time ``t`` (None outside the chords)."""
        i = math.floor(t)
        return self.chords[i] if 0 <= i < len(self.chords) else None


def harmony_case(score: Score, chords: Sequence[Chord | None]) -> HarmonyCase:
    """``chords`` (one per beat) over the melody of ``score``, in the tokenizer's beats."""
    beat, origin = beat_length(score), beat_origin(score)
    notes = tuple(
        MelodyNote(n.pitch, (n.start - origin) / beat, n.duration / beat)
        for n in melody_notes(score)
    )
    bar = score.time_signature_at(Fraction(0)).bar_length / beat
    return HarmonyCase(notes, tuple(chords), (score.pickup - origin) / beat, bar, beat)


def tonal_centroid(pitch_classes: Sequence[int] | frozenset[int]) -> tuple[float, ...]:
    """The 6-D tonal centroid of a set of pitch classes (Harte et al. 2006, eq. 2)."""
    pcs = list(pitch_classes)
    out = []
    for r, angle in zip(_RADII, _ANGLES, strict=True):
        out.append(r * sum(math.sin(p * angle) for p in pcs) / len(pcs))
        out.append(r * sum(math.cos(p * angle) for p in pcs) / len(pcs))
    return tuple(out)


def tonal_distance(a: Sequence[int] | frozenset[int], b: Sequence[int] | frozenset[int]) -> float:
    """Euclidean distance of two pitch-class sets' tonal centroids."""
    return math.dist(tonal_centroid(a), tonal_centroid(b))


def chord_histogram_entropy(chords: Sequence[Chord | None]) -> float:
    """CHE: entropy (nats) of the histogram of the beats' chords; 0 for one chord."""
    counts = Counter(c for c in chords if c is not None)
    total = sum(counts.values())
    return -sum(n / total * math.log(n / total) for n in counts.values()) if total else 0.0


def chord_coverage(chords: Sequence[Chord | None]) -> int:
    """CC: how many different chords are used."""
    return len({c for c in chords if c is not None})


def chord_tonal_distance(chords: Sequence[Chord | None]) -> float:
    """CTD: mean tonal distance between the chords of adjacent beats (a held chord adds 0,
    as in the paper's fixed half-bar grid); NaN with no pair of adjacent chords."""
    adjacent = zip(chords[:-1], chords[1:], strict=True)
    pairs = [(a, b) for a, b in adjacent if a is not None and b is not None]
    if not pairs:
        return math.nan
    return sum(tonal_distance(a.pitch_classes, b.pitch_classes) for a, b in pairs) / len(pairs)


def chord_tone_ratio(case: HarmonyCase) -> float:
    """CTnCTR = (n_c + n_p) / (n_c + n_n): chord tones n_c, non-chord tones n_n, and the
    "proper" non-chord tones n_p among them, 1 or 2 semitones from the next melody note
    (passing and neighbour tones). A note's chord is the one at its onset; 1 with no
    non-chord tone, NaN when no note has a chord."""
    n_c = n_n = n_p = 0
    for i, note in enumerate(case.notes):
        chord = case.chord_at(note.onset)
        if chord is None:
            continue
        if note.pitch % 12 in chord.pitch_classes:
            n_c += 1
            continue
        n_n += 1
        if i + 1 < len(case.notes) and 1 <= abs(case.notes[i + 1].pitch - note.pitch) <= 2:
            n_p += 1
    return (n_c + n_p) / (n_c + n_n) if n_c + n_n else math.nan


def _interval_score(melody_pitch: int, chord_pc: int) -> int:
    interval = (melody_pitch - chord_pc) % 12
    return 1 if interval in _CONSONANT else 0 if interval == _NEUTRAL else -1


def pitch_consonance(case: HarmonyCase) -> float:
    """PCS: on a sixteenth-note grid, the mean consonance of the sounding melody note with
    each tone of the sounding chord (+1 unison, thirds, fifth, sixths; 0 fourth; -1 else,
    intervals within an octave); NaN when melody and chords never sound together."""
    step = Fraction(1, 4) / case.beat  # a sixteenth note, in beats
    total = count = 0
    for note in case.notes:
        k = math.ceil(note.onset / step)
        while k * step < note.onset + note.duration:
            chord = case.chord_at(k * step)
            if chord is not None:
                total += sum(_interval_score(note.pitch, pc) for pc in chord.pitch_classes)
                count += len(chord.pitch_classes)
            k += 1
    return total / count if count else math.nan


def melody_chord_tonal_distance(case: HarmonyCase) -> float:
    """MCTD: tonal distance between each melody note and its chord (the one at its onset),
    weighted by the note's duration; NaN when no note has a chord."""
    total = weight = 0.0
    for note in case.notes:
        chord = case.chord_at(note.onset)
        if chord is not None:
            total += float(note.duration) * tonal_distance([note.pitch % 12], chord.pitch_classes)
            weight += float(note.duration)
    return total / weight if weight else math.nan


def chord_accuracy(chords: Sequence[Chord | None], reference: Sequence[Chord | None]) -> float:
    """Share of the beats with a reference chord where ``chords`` has the same chord;
    NaN when the reference has none."""
    scored = [(c, r) for c, r in zip(chords, reference, strict=True) if r is not None]
    return sum(c == r for c, r in scored) / len(scored) if scored else math.nan


def harmony_metrics(case: HarmonyCase) -> dict[str, float]:
    """All six Yeh et al. metrics of one harmonised melody, keyed by short name."""
    return {
        "chord_histogram_entropy": chord_histogram_entropy(case.chords),
        "chord_coverage": float(chord_coverage(case.chords)),
        "chord_tonal_distance": chord_tonal_distance(case.chords),
        "chord_tone_ratio": chord_tone_ratio(case),
        "pitch_consonance": pitch_consonance(case),
        "melody_chord_tonal_distance": melody_chord_tonal_distance(case),
    }
