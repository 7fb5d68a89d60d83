"""Musical metrics on hand-made scores with known answers, and on real Irish tunes."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import islice

import pytest
from conftest import SHARED_DATA

from musicgen.data.sources import music21_corpus_dir
from musicgen.metrics import (
    HISTOGRAM_BINS,
    NgramIndex,
    bar_correctness,
    duration_histogram,
    estimate_key,
    grid_bars,
    histograms,
    in_key_ratio,
    interval_histogram,
    kl_divergence,
    memorisation,
    note_density,
    overlap_area,
    pitch_class_histogram,
    pitch_range,
    plot_histograms,
    repeated_bar_share,
    scale_pitch_classes,
    score_set,
    valid_rate,
    written_bars,
)
from musicgen.music import Key, Note, Score, TimeSignature, read_abc
from musicgen.music.abc import iter_abc_tunes
from musicgen.tokenizers.note import NoteTokenizer

Q = Fraction(1)  # a quarter note
E = Fraction(1, 2)  # an eighth note
SCORE_SET_KEYS = {
    "n_samples", "n_valid", "valid_rate", "bar_correct", "in_key",
    "pitch_class_overlap", "pitch_class_kl", "duration_overlap", "duration_kl",
    "interval_overlap", "interval_kl", "note_density", "pitch_range", "repeated_bars",
    "memorisation", "classifier_accuracy", "classifier_ci",
}  # fmt: skip


def one_tune(abc: str) -> Score:
    (score,) = read_abc(abc, strict=True)
    return score


def quarters(*bars: tuple[int, ...], key: Key | None = None) -> Score:
    """A 4/4 tune of quarter notes, one tuple of four pitches per bar."""
    notes = [
        Note(p, Fraction(4 * b + i), Q) for b, bar in enumerate(bars) for i, p in enumerate(bar)
    ]
    return Score(notes=notes, time_signatures=[TimeSignature(Fraction(0), 4, 4)], key=key)


def fresh_bars(count: int, low: int) -> list[tuple[int, ...]]:
    """``count`` distinct bars, each starting on ``low``: no bar of a call with another
    ``low`` equals one of these."""
    return [(low, low + i + 1, low, low + 2 * i + 2) for i in range(count)]


# ---------------------------------------------------------------- valid rate


def test_valid_rate_counts_none_errors_and_empty_scores_as_invalid():
    good = quarters((60, 62, 64, 65))
    assert valid_rate([good, None, ValueError("bad"), Score()]) == 0.25
    assert valid_rate([good, good]) == 1.0


# ---------------------------------------------------------------- key


def test_one_c_natural_in_a_d_major_tune_is_the_only_note_out_of_key():
    score = one_tune("X:1\nT:t\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|=cBAG FEDE|D8|]\n")
    n = len(score.notes)
    assert n == 17
    assert in_key_ratio(score) == pytest.approx((n - 1) / n)


def test_modes_use_their_own_scale_and_minor_allows_raised_sixth_and_seventh():
    assert scale_pitch_classes(2, "dorian") == {0, 2, 4, 5, 7, 9, 11}  # D dorian: white keys
    assert scale_pitch_classes(7, "mixolydian") == {0, 2, 4, 5, 7, 9, 11}
    a_minor = scale_pitch_classes(9, "minor")
    assert {7, 5} <= a_minor and {8, 6} <= a_minor  # G and F, and G# and F# too
    assert 1 not in a_minor  # C# is not in A minor
    e_dorian_tune = one_tune("X:1\nT:t\nM:4/4\nL:1/8\nK:Edor\nEFGA Bc^cd|e8|]\n")
    assert in_key_ratio(e_dorian_tune) == 1.0  # C# is E dorian's sixth
    assert in_key_ratio(e_dorian_tune, Key("E", "minor")) == 1.0  # raised sixth of E minor
    assert in_key_ratio(e_dorian_tune, Key("E", "phrygian")) == pytest.approx(6 / 9)  # F#, C#


def test_krumhansl_finds_c_major_and_a_minor():
    c_major = quarters((60, 64, 67, 72), (67, 64, 60, 62), (64, 65, 67, 60))
    assert estimate_key(c_major) == (0, "major")
    a_minor = quarters((69, 72, 76, 69), (71, 72, 74, 76), (68, 69, 64, 69))
    assert estimate_key(a_minor) == (9, "minor")


def test_undeclared_key_is_estimated():
    melody = quarters((60, 64, 67, 72), (67, 64, 60, 61))  # C major and one C#
    assert melody.key is None
    assert in_key_ratio(melody) == pytest.approx(7 / 8)


# ---------------------------------------------------------------- bars


def test_a_written_bar_one_eighth_short_is_the_only_wrong_bar():
    bars = written_bars("X:1\nM:4/4\nL:1/8\nK:D\nABcd efga|ABcd efg|ABcd efga|\n")
    assert [b.correct for b in bars] == [True, False, True]
    assert bars[1].length == Fraction(7, 2)
    assert bar_correctness(bars) == (2, 3)


def test_a_written_bar_one_eighth_too_long_is_wrong_even_at_the_end():
    bars = written_bars("X:1\nM:4/4\nL:1/8\nK:D\nABcd efga|ABcd efgab|]\n")
    assert [b.correct for b in bars] == [True, False]


def test_pickups_and_the_bars_that_complete_them_are_correct():
    tune = (
        "X:1\nT:t\nM:6/8\nL:1/8\nK:G\n"
        "|D|GFG AGA|BAG G2:|\n"  # pickup, then a bar completing it before the repeat
        "f|gfe fed|[1 ege d2:|[2 ege dBA||\n"  # a new part's pickup and two endings
        "GFG AGA|BAG G2|\nP:C\nD|GFG AGA|\n"  # a part label after a plain bar line
        "BAG G2|]\n"  # the final bar completes the first pickup
    )
    bars = written_bars(tune)
    assert [b.length for b in bars] == [E, 3, 5 * E, E, 3, 5 * E, 3, 3, 5 * E, E, 3, 5 * E]
    assert all(b.correct for b in bars)
    score = one_tune(tune)
    assert score.pickup == E
    assert bar_correctness(score) == (len(grid_bars(score)), len(grid_bars(score)))


def test_note_tokens_with_a_bar_one_eighth_short_flag_exactly_that_bar():
    tok = NoteTokenizer(use_velocity=False)
    eighths = [f"Position_{6 * i} Pitch_{62 + i} Duration_6" for i in range(8)]
    text = " ".join(["<bos> TimeSig_4/4 Bar", *eighths, "Bar", *eighths[:7], "Bar", *eighths])
    score = tok.decode([tok.id_of(t) for t in text.split()])
    bars = grid_bars(score)
    assert [b.correct for b in bars] == [True, False, True]
    assert bars[1].length == Fraction(7, 2)
    assert bar_correctness(score) == (2, 3)


def test_a_note_held_into_the_next_bars_notes_makes_that_bar_over_full():
    seven = [Note(60 + i, i * E, E) for i in range(7)]  # bar 1 up to its last eighth
    bar_3 = Note(60, Fraction(8), Q)
    tied = [*seven, Note(67, Fraction(7, 2), 3 * E), Note(69, Fraction(5), 3 * Q), bar_3]
    assert bar_correctness(Score(notes=tied)) == (3, 3)  # held over the bar line: fine
    late = [*seven, Note(67, Fraction(7, 2), Q), Note(69, Fraction(4), 4 * Q), bar_3]
    bars = grid_bars(Score(notes=late))  # G still sounds when bar 2's A starts
    assert [b.correct for b in bars] == [True, False, True]
    assert bars[1].length == Fraction(9, 2)


# ---------------------------------------------------------------- histograms


def test_histograms_count_notes_and_melodic_steps():
    scale = quarters((60, 62, 64, 65), (67, 69, 71, 72))
    pcs = pitch_class_histogram([scale])
    assert pcs[0] == 2 / 8 and pcs[2] == 1 / 8 and pcs[1] == 0.0
    assert duration_histogram([scale])[HISTOGRAM_BINS["duration"].index("1")] == 1.0
    odd = Score(notes=[Note(60, Fraction(0), Fraction(5, 16))])
    assert duration_histogram([odd])[-1] == 1.0  # "other"
    steps = interval_histogram([scale])
    assert steps[HISTOGRAM_BINS["interval"].index("+2")] == pytest.approx(5 / 7)
    assert steps[HISTOGRAM_BINS["interval"].index("+1")] == pytest.approx(2 / 7)
    leap = quarters((40, 70, 70, 40))
    clipped = interval_histogram([leap])
    assert clipped[-1] == clipped[0] == pytest.approx(1 / 3)  # +30 and -30 clip to ±12


def test_a_set_compared_with_itself_overlaps_fully_with_zero_kl():
    tunes = [quarters((60, 62, 64, 65), (67, 69, 71, 72)), quarters((62, 66, 69, 74))]
    mine = histograms(tunes)
    assert set(mine) == set(HISTOGRAM_BINS)
    for name, hist in mine.items():
        assert len(hist) == len(HISTOGRAM_BINS[name]) and sum(hist) == pytest.approx(1.0)
        assert overlap_area(hist, hist) == pytest.approx(1.0)
        assert kl_divergence(hist, hist) == 0.0
    other = histograms([quarters((61, 63, 68, 70))])["pitch_class"]
    assert overlap_area(mine["pitch_class"], other) == 0.0  # no pitch class in common
    assert kl_divergence(mine["pitch_class"], other) > 5.0  # large, smoothed, finite


# ---------------------------------------------------------------- structure


def test_a_tune_played_twice_repeats_half_of_its_bars():
    bars = fresh_bars(4, 60)
    assert repeated_bar_share(quarters(*bars)) == 0.0
    assert repeated_bar_share(quarters(*bars, *bars)) == 0.5
    assert repeated_bar_share(quarters(*bars, bars[0], *bars)) == pytest.approx(5 / 9)


def test_density_and_range():
    reel = one_tune("X:1\nT:t\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|efga bagf|]\n")
    assert note_density(reel) == 2.0  # running eighths: two notes per quarter
    assert pitch_range(reel) == 83 - 62  # D4 to B5


def test_memorisation_of_copies_fresh_tunes_and_half_copies():
    training = [quarters(*fresh_bars(8, 40)), quarters(*fresh_bars(8, 60))]
    index = NgramIndex.from_scores(training)
    assert memorisation(training[0], index) == 1.0
    assert memorisation(quarters(*fresh_bars(8, 80)), index) == 0.0
    half = quarters(*fresh_bars(8, 60)[:4], *fresh_bars(4, 80))  # 8 bars: 5 runs of 4
    assert memorisation(half, index) == pytest.approx(1 / 5)
    assert memorisation(training[1].transposed(2), index) == 0.0  # not normalised


# ---------------------------------------------------------------- set summary and plot


def test_score_set_of_real_tunes_against_themselves():
    tunes = [quarters(*fresh_bars(6, 50), key=Key("C")), quarters(*fresh_bars(5, 70))]
    summary = score_set([*tunes, None], tunes, NgramIndex.from_scores(tunes))
    assert set(summary) == SCORE_SET_KEYS
    assert summary["n_samples"] == 3 and summary["n_valid"] == 2
    assert summary["valid_rate"] == pytest.approx(2 / 3)
    for name in HISTOGRAM_BINS:
        assert summary[f"{name}_overlap"] == pytest.approx(1.0)
        assert summary[f"{name}_kl"] == 0.0
    assert summary["memorisation"] == 1.0
    assert summary["note_density"] == 1.0 and summary["repeated_bars"] == 0.0
    assert summary["classifier_accuracy"] is None  # 2 tunes: too few to train and test on
    assert score_set(tunes, tunes)["memorisation"] is None


def test_score_set_without_valid_samples_gives_none_not_nan():
    summary = score_set([None, Score()], [quarters((60, 62, 64, 65))])
    assert summary["valid_rate"] == 0.0
    for name, value in summary.items():
        assert value is None or not math.isnan(value), name
    assert summary["in_key"] is None and summary["pitch_class_kl"] is None


def test_score_set_judges_written_bars_when_given():
    text = "X:1\nM:4/4\nL:1/8\nK:D\nABcd efga|ABcd efg|ABcd efga|\n"
    summary = score_set([one_tune(text)], [one_tune(text)], written_bars=[written_bars(text)])
    assert summary["bar_correct"] == pytest.approx(2 / 3)


def test_plot_histograms_writes_a_png(tmp_path):
    real = histograms([quarters((60, 62, 64, 65))])
    generated = histograms([quarters((62, 64, 66, 67))])
    path = plot_histograms(generated, real, tmp_path / "h.png", "generated vs real")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    assert path == str(tmp_path / "h.png")


# ---------------------------------------------------------------- real tunes


IRISH_BOOKS = {
    "irish.abc": SHARED_DATA / "abc" / "irish.abc",  # the lab's file, in the shared corpora
    "oneills1850": music21_corpus_dir() / "oneills1850" / "0001-0050.abc",  # ships in music21
}


@pytest.mark.parametrize("book", sorted(IRISH_BOOKS))
def test_real_irish_tunes_are_in_key_and_in_time(book):
    path = IRISH_BOOKS[book]
    if not path.is_file():
        pytest.skip(f"{path} not found (the shared corpora live beside the checkout)")
    read = list(islice(iter_abc_tunes(path), 50))
    scores = [s for _, s in read if isinstance(s, Score)]
    assert len(scores) == 50
    in_key = sum(map(in_key_ratio, scores)) / len(scores)
    written = [bar_correctness(written_bars(text.text)) for text, _ in read]
    grid = [bar_correctness(s) for s in scores]
    assert in_key > 0.9
    assert sum(c for c, _ in written) / sum(j for _, j in written) > 0.9
    assert sum(c for c, _ in grid) / sum(j for _, j in grid) > 0.9
