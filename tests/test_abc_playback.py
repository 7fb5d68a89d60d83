"""Repeats, endings and parts played as a player plays them (``expand_repeats=True``).

Each case is a minimal tune in ``L:1/4``, ``K:C`` and the clause of ABC 2.1 it follows;
abc2midi 4.84 plays each of them the same way (``bench/abc2midi_oracle.py`` checks the
corpora).
"""

from __future__ import annotations

import pytest

from musicgen.music import read_abc

NAMES = dict(zip("CDEFGAB", (60, 62, 64, 65, 67, 69, 71), strict=True))


def played(body: str, header: str = "") -> str:
    """The note names a player plays, ``"C D E"`` (lower case an octave up)."""
    text = f"X:1\nT:t\nM:4/4\nL:1/4\n{header}K:C\n{body}\n"
    score = read_abc(text, strict=True, expand_repeats=True)[0]
    names = {v: k for k, v in NAMES.items()} | {v + 12: k.lower() for k, v in NAMES.items()}
    return " ".join(names[n.pitch] for n in score.notes)


def test_a_section_after_a_used_repeat_plays_its_first_ending_then_repeats():
    # §4.9: on the first pass the [1 ending plays, then the section repeats with [2
    body = "|: C D E F :| G A B c |1 d4 :|2 e4 |]"
    assert played(body) == "C D E F C D E F G A B c d G A B c e"


def test_a_repeat_without_start_goes_back_to_the_latest_double_bar():
    # §4.8: "from the latest double bar line or end of repeated section"
    assert played("C D E F :| G A B c |] d e f g :|") == ("C D E F C D E F G A B c d e f g d e f g")
    assert played("C D :| E F || G A :|") == "C D C D E F G A G A"


def test_a_double_bar_inside_a_started_section_is_only_a_bar():
    assert played("|: C D || E F :|") == "C D E F C D E F"


def test_the_section_after_an_ending_closed_by_a_double_bar_repeats_alone():
    # abc2midi replays the first section here (see docs/abc_oracle.md)
    assert played("|: C D |1 E F :|2 G A |] B c :|") == "C D E F C D G A B c B c"


def test_three_endings_play_on_passes_one_two_three():
    assert played("C D |1 E :|2 F :|3 G |]") == "C D E C D F C D G"
    assert played("|: C D |1,3 E :|2 F :|4 G |]") == "C D E C D F C D E C D G"


@pytest.mark.parametrize("lead", ["(C D E F)", "C D E !fermata!F", "C D E HF", "C D E F [|]"])
def test_a_repeat_written_right_after_a_slur_or_decoration_repeats(lead):
    assert played(f"{lead}:| G") == "C D E F C D E F G"


def test_a_double_bar_that_an_ending_starts_on_is_not_where_the_repeat_goes_back_to():
    # §4.8 repeats "from the latest double bar line"; the double bar of a first ending
    # (ryansMammoth X:345 "(eg)||1 (fd)cA BGG2:|2") is that ending's own bar line
    assert played("C D :| E F ||1 G A :|2 B c |]") == "C D C D E F G A E F B c"
    # and a :|| before the second ending (nottingham waltzes X:30 "G2:||[2") keeps it
    assert played("|: C D |1 E F :||[2 G A |]") == "C D E F C D G A"


def test_dots_between_two_bar_lines_repeat_the_music_on_their_side():
    # §4.8 has no |:|; "|:" starts a repeated section and ":|" ends one, so the dots
    # belong to the bar line that has music on their side: before more music they open
    # the section (nottingham reelsh-l X:70 "e|:|||:"), at the end of the tune they close it
    assert played("E |:|||: C D :|") == "E C D C D"
    assert played("C D |:|") == "C D C D"


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("P:ABA\n", "C D C D E F C D C D"),
        ("P:A2B\n", "C D C D C D C D E F"),
        ("P:(AB)2\n", "C D C D E F C D C D E F"),
        ("P:A.C\n", "C D C D"),  # a part that is never labelled is skipped
        ("P:Modern Version.\n", "C D C D E F"),  # not a play order: the written order
        ("", "C D C D E F"),
    ],
)
def test_the_header_part_order_plays_the_labelled_parts(order, expected):
    # §3.1.9: P: in the header gives the order in which the parts are played
    assert played("P:A\n|: C D :|\nP:B\nE F |]", order) == expected


def test_music_before_the_first_part_label_is_an_introduction():
    assert played("G A | [P:A] C D :| [P:B] E F |]", "P:BA\n") == "G A E F C D C D"


def test_parts_keep_the_written_order_unless_expanded():
    text = "X:1\nT:t\nL:1/4\nP:BA\nK:C\nP:A\nC D :|\nP:B\nE F|]\n"
    assert [n.pitch for n in read_abc(text)[0].notes] == [60, 62, 64, 65]
