"""Harmonisation metrics (Yeh et al. 2021) and the two baselines, on cases worked by hand."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from musicgen.metrics.harmony import (
    HarmonyCase,
    MelodyNote,
    chord_accuracy,
    chord_coverage,
    chord_histogram_entropy,
    chord_tonal_distance,
    chord_tone_ratio,
    harmony_case,
    melody_chord_tonal_distance,
    pitch_consonance,
    tonal_distance,
)
from musicgen.metrics.harmony_baselines import KeyChordBaseline, melody_cover_chords
from musicgen.music import ChordSymbol, Key, Note, Score, TimeSignature
from musicgen.tokenizers.chords import parse_chord

C, F, G, AM = (parse_chord(s) for s in ("C", "F", "G", "Am"))


def case(pitches: list[int], chords: list, beats_per_bar: int = 4) -> HarmonyCase:
    """One quarter-note melody note per beat."""
    notes = tuple(MelodyNote(p, Fraction(i), Fraction(1)) for i, p in enumerate(pitches))
    return HarmonyCase(notes, tuple(chords), beats_per_bar=Fraction(beats_per_bar))


def test_histogram_entropy_and_coverage_count_the_chords_used():
    assert chord_histogram_entropy([C] * 8) == 0.0
    assert chord_histogram_entropy([C, C, G, G]) == pytest.approx(math.log(2))
    assert chord_histogram_entropy([C, F, G, AM]) == pytest.approx(math.log(4))
    assert chord_coverage([C, G, C, None, AM]) == 3  # no-chord beats are not a chord


def test_tonal_distance_is_zero_for_one_chord_and_larger_for_far_chords():
    assert chord_tonal_distance([C, C, C]) == 0.0
    near = tonal_distance(C.pitch_classes, AM.pitch_classes)  # two common tones
    far = tonal_distance(C.pitch_classes, parse_chord("F#").pitch_classes)  # tritone away
    assert 0 < near < far
    # held chords count as zero steps, as on the paper's fixed grid
    assert chord_tonal_distance([C, C, AM]) == pytest.approx(near / 2)


def test_chord_tone_ratio_counts_passing_tones_as_proper():
    assert chord_tone_ratio(case([60, 64, 67, 72], [C] * 4)) == 1.0  # all chord tones
    # D (62) is no tone of C; it moves a step to E: proper, so it still counts
    assert chord_tone_ratio(case([60, 62, 64, 67], [C] * 4)) == 1.0
    # F# (66) leaps to C (72): improper. (n_c + n_p) / (n_c + n_n) = (3 + 0) / (3 + 1)
    assert chord_tone_ratio(case([60, 64, 66, 72], [C] * 4)) == pytest.approx(0.75)
    assert math.isnan(chord_tone_ratio(case([60], [None])))


def test_pitch_consonance_scores_intervals_against_each_chord_tone():
    # C over C major: melody minus chord tone is 0 (unison), 8 (sixth), 5 (fourth): (1+1+0)/3
    assert pitch_consonance(case([60], [C])) == pytest.approx(2 / 3)
    # E over C major: E-C 4, E-E 0, E-G 9: all consonant
    assert pitch_consonance(case([64], [C])) == 1.0
    # C# over C major: 1, 9, 6 -> (-1 + 1 - 1) / 3
    assert pitch_consonance(case([61], [C])) == pytest.approx(-1 / 3)


def test_melody_chord_distance_is_smaller_for_chord_tones_and_weights_duration():
    inside, outside = (melody_chord_tonal_distance(case([p], [C])) for p in (64, 61))
    assert inside < outside
    long_inside = HarmonyCase(
        (MelodyNote(64, Fraction(0), Fraction(3)), MelodyNote(61, Fraction(3), Fraction(1))),
        (C,) * 4,
    )
    assert melody_chord_tonal_distance(long_inside) == pytest.approx((3 * inside + outside) / 4)


def test_chord_accuracy_skips_beats_without_a_reference_chord():
    assert chord_accuracy([C, G, C, F], [None, G, C, C]) == pytest.approx(2 / 3)


def test_melody_cover_baseline_picks_the_chord_each_bar_outlines():
    melody = [60, 64, 67, 64, 65, 69, 72, 69]  # bar 1 outlines C, bar 2 F
    assert melody_cover_chords(case(melody, [None] * 8)) == [C] * 4 + [F] * 4
    # a triad before the seventh chord that covers as much: C E G is C, not C7 or Am7
    assert melody_cover_chords(case([60, 64, 67, 60], [None] * 4))[0] == C


def test_key_baseline_learns_the_commonest_chord_relative_to_the_tonic():
    def tune(tonic: str) -> Score:
        return Score(notes=[Note(60, Fraction(0), Fraction(1))], key=Key(tonic))

    d_major = parse_chord("D")
    baseline = KeyChordBaseline().fit([(tune("D"), [d_major, d_major, parse_chord("A7")])])
    assert baseline.harmonise(tune("G"), 3) == [G] * 3  # D major's I, moved to G major
    assert KeyChordBaseline().chord(9, "minor") == AM  # unseen mode: the tonic triad


def test_harmony_case_counts_beats_from_the_upbeat():
    # 3/4 with a one-beat upbeat: beat 0 is the upbeat, the first bar line at beat 1
    score = Score(
        notes=[Note(67, Fraction(0), Fraction(1)), Note(60, Fraction(1), Fraction(3))],
        time_signatures=[TimeSignature(Fraction(0), 3, 4)],
        pickup=Fraction(1),
        chord_symbols=[ChordSymbol(Fraction(1), "C")],
    )
    c = harmony_case(score, [None, C, C, C])
    assert [n.onset for n in c.notes] == [0, 1] and c.bar_start == 1 and c.beats_per_bar == 3
    # the upbeat is a bar of its own: its lone G goes to C (lowest root of the triads with G)
    assert melody_cover_chords(c) == [C] * 4
