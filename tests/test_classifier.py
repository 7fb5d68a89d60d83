"""The classifier two-sample test: chance on two sets of the same music, near 1 on music
that plainly differs. Torch-free."""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

import pytest

from musicgen.metrics import classifier_two_sample, ngram_counts, wilson_interval
from musicgen.music import Score, read_abc
from musicgen.music.score import Note

DURATIONS = (Fraction(1, 2), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(1, 4))


def walk(rng: random.Random, steps=(-2, -1, -1, 1, 1, 2, 0, 3, -3), durations=DURATIONS) -> Score:
    """A 48-note melody: a random walk of small steps in mixed note lengths."""
    pitch, t, notes = 67, Fraction(0), []
    for _ in range(48):
        d = rng.choice(durations)
        notes.append(Note(pitch, t, d))
        pitch = max(55, min(84, pitch + rng.choice(steps)))
        t += d
    return Score(notes=notes)


def test_two_sets_of_the_same_kind_of_melody_are_indistinguishable():
    rng = random.Random(0)
    a, b = [walk(rng) for _ in range(80)], [walk(rng) for _ in range(80)]
    told = classifier_two_sample(a, b)
    assert told.n_test == 80  # half of each set, the larger cut to the smaller
    assert told.ci[0] <= 0.5 <= told.ci[1] and abs(told.accuracy - 0.5) < 0.15


def test_leaps_in_one_note_length_are_told_from_small_steps():
    rng = random.Random(1)
    steps = [walk(rng) for _ in range(60)]
    leaps = [walk(rng, steps=(-12, -9, 7, 12), durations=(Fraction(1),)) for _ in range(60)]
    told = classifier_two_sample(leaps, steps)
    assert told.accuracy >= 0.95 and told.ci[0] > 0.5


def test_features_are_shares_per_family_and_order():
    line = Score(notes=[Note(p, Fraction(i), Fraction(1)) for i, p in enumerate((60, 62, 64, 62))])
    feats = ngram_counts(line)
    assert feats[("interval", 1, (2,))] == pytest.approx(2 / 3)
    assert feats[("interval", 2, (2, 2))] == pytest.approx(1 / 2)
    assert feats[("duration", 3, (1, 1, 1))] == 1.0
    for family in ("interval", "duration"):
        for n in (1, 2, 3):
            total = sum(v for (f, k, _), v in feats.items() if (f, k) == (family, n))
            assert total == pytest.approx(1.0)


def test_wilson_interval_and_too_few_pieces():
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    low, high = wilson_interval(8, 16)
    assert low == pytest.approx(1 - high) and low < 0.5 < high
    rng = random.Random(2)
    assert classifier_two_sample([walk(rng)] * 3, [walk(rng)] * 10) is None


@pytest.fixture(scope="module")
def irish(shared_data) -> list[Score]:
    return [s for s in read_abc(shared_data / "abc" / "irish.abc")[:240] if s.notes]


def test_two_halves_of_real_tunes_give_chance(irish):
    told = classifier_two_sample(irish[0::2], irish[1::2])
    assert told.n_test >= 100
    assert told.ci[0] <= 0.5 <= told.ci[1] and abs(told.accuracy - 0.5) < 0.1


def test_real_tunes_against_random_pitches_or_one_note_length(irish):
    rng = random.Random(3)
    real, other = irish[0::2], irish[1::2]
    random_pitch = [
        replace(s, notes=[replace(n, pitch=rng.randint(60, 84)) for n in s.notes]) for s in other
    ]
    assert classifier_two_sample(random_pitch, real).accuracy >= 0.95
    quarter = Fraction(1)
    one_length = [
        replace(s, notes=[replace(n, start=i * quarter, duration=quarter)
                          for i, n in enumerate(s.notes)])
        for s in other
    ]  # fmt: skip
    assert classifier_two_sample(one_length, real).accuracy >= 0.9
