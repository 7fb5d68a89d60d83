"""Our reader against abc2midi (the reference ABC player) on a sample of the shared books.

``bench/abc2midi_oracle.py`` holds the comparison (run it for every tune). Here every
7th tune of irish.abc and two Nottingham books, played in one abc2midi process per book.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import abc2midi_oracle as oracle  # noqa: E402

pytestmark = pytest.mark.skipif(
    oracle.abc2midi() is None, reason="abc2midi is not installed (apt-get install abcmidi)"
)
# Measured with the whole corpus: 98.8 % expanded, 99.2 % written (docs/abc_oracle.md);
# the goal of issue 14 is 99.5 % for both, not reached yet. These floors catch regressions.
FLOOR = {True: 0.98, False: 0.985}


def _sample(shared_data: Path, expand: bool) -> oracle.Summary:
    abc = shared_data / "abc"
    summary = oracle.Summary()
    books = (abc / "irish.abc", abc / "nottingham" / "jigs.abc", abc / "nottingham" / "hpps.abc")
    for path in books:
        summary.results += oracle.compare_file(path, expand, every=7)
    return summary


@pytest.mark.parametrize("expand", [True, False], ids=["played", "written"])
def test_same_notes_as_abc2midi_on_the_sample(shared_data, expand):
    summary = _sample(shared_data, expand)
    bad = [f"{r.path.name} X:{r.number} {r.title}: {r.detail}" for r in summary.results
           if r.status in ("disagree", "ours_failed")]  # fmt: skip
    assert len(summary.results) > 100
    assert summary.agreement() >= FLOOR[expand], "\n".join(bad)


def test_each_abc2midi_kind_is_narrow():
    plain = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n|: ABcd efga :|[1 b2 a2 :|[2 g2 f2 |\n"
    for edit in [*oracle.THEIR_EDITS.values(), *oracle.OUR_EDITS.values()]:
        assert edit(plain) == plain, edit.__name__
    assert oracle.restart_after_second_ending(plain + "|2 g f || a b :|\n").endswith(
        "|2 g f || |: a b :|\n"
    )
    assert oracle.restart_at_first_double_bar(plain + "A B || c d :|\n").endswith(
        "A B || |: c d :|\n"
    )
    # a plain :| gets an explicit |: after it; one before an ending or a |: does not
    assert oracle.restart_after_repeat(plain + "A B :| c d |[1 e :|[2 f |]\n").endswith(
        "A B :| |: c d |[1 e :|[2 f |]\n"
    )
    ending = "X:1\nK:D\n|: A :|[1 B :|\n[2 c d :|\ne f |]\n"
    assert oracle.last_ending_repeated(ending) == ending.replace("c d :|", "c d |]")
    assert oracle.blank_line_before_music("X:1\nK:D\n\nABc\n") == "X:1\nK:D\nABc\n"
    three = "X:1\nM:3/4\nK:D\n(5ABcde f\n"
    assert oracle.quintuplet_in_three_four(three).endswith("(5:3ABcde f\n")
    assert oracle.quintuplet_in_three_four(three.replace("3/4", "6/8")).endswith("(5ABcde f\n")


def test_abc2midi_input_has_its_performance_effects_removed():
    text = "X:1\nR:reel\nT:t\nK:D\n~A TB .c !trill!d e TvG .uF\n"
    expected = "X:1\n%%MIDI chordattack 0\nT:t\nK:D\nA B c d e vG uF\n"
    assert oracle.for_abc2midi(text) == expected
