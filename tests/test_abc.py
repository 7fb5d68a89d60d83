"""The ABC reader on small hand-written tunes whose notes are known."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from musicgen.music import Key, read_abc
from musicgen.music.abc import read_abc_book, split_abc_tunes

HEAD = "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\n"


def notes(body: str, head: str = HEAD, **kw) -> list[tuple[int, F, F]]:
    (score,) = read_abc(head + body + "\n", strict=True, **kw)
    return [(n.pitch, n.start, n.duration) for n in score.notes]


def pitches(body: str, head: str = HEAD) -> list[int]:
    return [p for p, _, _ in notes(body, head)]


def test_pitches_octaves_and_lengths():
    assert notes("C c c' C, A/ A// A3/ A3/2 A2") == [
        (60, F(0), F(1, 2)), (72, F(1, 2), F(1, 2)), (84, F(1), F(1, 2)), (48, F(3, 2), F(1, 2)),
        (69, F(2), F(1, 4)), (69, F(9, 4), F(1, 8)), (69, F(19, 8), F(3, 4)),
        (69, F(25, 8), F(3, 4)), (69, F(31, 8), F(1)),
    ]  # fmt: skip


def test_accidentals_last_to_the_bar_line_in_every_octave():
    # ABC 2.1 §11.3: %%propagate-accidentals defaults to "pitch" (any octave)
    assert pitches("^c c C c | c =F F _B B b | B") == [73, 73, 61, 73, 72, 65, 65, 70, 70, 82, 71]
    assert pitches("^^c __B =c") == [74, 69, 72]


@pytest.mark.parametrize(
    ("directive", "expected"),
    [("pitch", [68, 80, 68]), ("octave", [68, 79, 68]), ("not", [68, 79, 67])],
)
def test_propagate_accidentals_directive_selects_each_rule(directive, expected):
    head = f"%%propagate-accidentals {directive}\n{HEAD}"
    assert pitches("^G g G | G", head)[:3] == expected


def test_rests_take_time_including_invisible_and_multi_bar_rests():
    assert notes("z A x A Z2 | A") == [
        (69, F(1, 2), F(1, 2)),
        (69, F(3, 2), F(1, 2)),
        (69, F(10), F(1, 2)),
    ]


def test_ties_join_notes_also_across_bar_lines():
    assert notes("A2-|A2 B- B c-d") == [
        (69, F(0), F(2)),
        (71, F(2), F(1)),
        (72, F(3), F(1, 2)),
        (74, F(7, 2), F(1, 2)),
    ]


def test_broken_rhythm():
    assert [d for _, _, d in notes("A>B A<B A>>B")] == [
        F(3, 4),
        F(1, 4),
        F(1, 4),
        F(3, 4),
        F(7, 8),
        F(1, 8),
    ]


def test_a_broken_rhythm_with_no_second_note_changes_nothing():
    # ABC 2.1 §4.4: ">" dots the note before and halves the one after; at the end of the
    # tune there is no note after it, so the note before keeps its length (abc2midi too)
    assert [d for _, _, d in notes("A B> ||")] == [F(1, 2), F(1, 2)]
    assert [d for _, _, d in notes("A B> | c")] == [F(1, 2), F(3, 4), F(1, 4)]


@pytest.mark.parametrize(
    ("meter", "body", "each"),
    [
        ("4/4", "(3abc", F(1, 3)),
        ("4/4", "(3:2:3abc", F(1, 3)),
        ("4/4", "(2ab", F(3, 4)),
        ("4/4", "(5abcde", F(1, 5)),  # simple meter: 5 in the time of 2
        ("6/8", "(5abcde", F(3, 10)),  # compound meter: 5 in the time of 3
        ("4/4", "(3:2:2ab", F(1, 3)),
    ],
)
def test_tuplets(meter, body, each):
    got = notes(body + " c", head=HEAD.replace("M:4/4", f"M:{meter}"))
    count = int(body.rsplit(":", 1)[-1][0]) if body.count(":") == 2 else int(body[1])
    assert [d for _, _, d in got[:count]] == [each] * count
    assert got[count][2] == F(1, 2)  # the tuplet is over


def test_chords_with_lengths_inside_and_outside():
    assert notes("[CEG]2 [C2E2G2] [CE]3/2 D") == [
        (60, F(0), F(1)), (64, F(0), F(1)), (67, F(0), F(1)),
        (60, F(1), F(1)), (64, F(1), F(1)), (67, F(1), F(1)),
        (60, F(2), F(3, 4)), (64, F(2), F(3, 4)), (62, F(11, 4), F(1, 2)),
    ]  # fmt: skip


def test_grace_notes_decorations_slurs_and_chord_symbols_take_no_time():
    body = '{ag}A2 {/g}B !trill!c ~d .e Hf +fermata+g (ab) "Am"c "^text"d uv y `e'
    got = notes(body)
    assert [p for p, _, _ in got] == [69, 71, 72, 74, 76, 77, 79, 81, 83, 72, 74, 76]
    assert got[-1][1] == F(6)
    (score,) = read_abc(HEAD + body)
    assert [(c.start, c.text) for c in score.chord_symbols] == [(F(5), "Am")]


def test_inline_fields_and_field_lines_in_the_body():
    head = "X:1\nT:t\nM:4/4\nL:1/8\nQ:1/4=100\nK:C\n"
    (score,) = read_abc(head + "F [K:D] F [L:1/4] F | [M:3/4] F [Q:1/4=60]\nM:2/4\nK:Bb\nB\n")
    assert [(n.pitch, n.start, n.duration) for n in score.notes] == [
        (65, F(0), F(1, 2)), (66, F(1, 2), F(1, 2)), (66, F(1), F(1)), (66, F(2), F(1)),
        (70, F(3), F(1)),
    ]  # fmt: skip
    assert [(t.start, t.numerator, t.denominator) for t in score.time_signatures] == [
        (F(0), 4, 4),
        (F(2), 3, 4),
        (F(3), 2, 4),
    ]
    assert [(t.start, t.qpm) for t in score.tempos] == [(F(0), 100.0), (F(3), 60.0)]


def test_voices_each_start_at_zero_and_merge():
    abc = "X:1\nT:t\nM:2/4\nL:1/8\nV:1\nV:2\nK:G\nV:1\nABcd|\nV:2\nD4|\n[V:1] e4|\n[V:2] F4|\n"
    (score,) = read_abc(abc)
    assert [(n.pitch, n.start) for n in score.notes] == [
        (62, F(0)),
        (69, F(0)),
        (71, F(1, 2)),
        (72, F(1)),
        (74, F(3, 2)),
        (66, F(2)),
        (76, F(2)),
    ]


def test_repeats_written_order_by_default_and_expanded_on_request():
    body = "|: A B |1 c :|2 d |] e |: f :: g :|"
    assert pitches(body) == [69, 71, 72, 74, 76, 77, 79]
    played = [p for p, _, _ in notes(body, expand_repeats=True)]
    assert played == [69, 71, 72, 69, 71, 74, 76, 77, 77, 79, 79]
    got = notes("|: A |1 B :|2 c ||", expand_repeats=True)
    assert [(p, s) for p, s, _ in got] == [(69, 0), (71, F(1, 2)), (69, 1), (72, F(3, 2))]


@pytest.mark.parametrize(
    ("field", "key", "f_c_g_b"),
    [
        ("G", Key("G"), [66, 72, 67, 71]),
        ("Ador", Key("A", "dorian"), [66, 72, 67, 71]),
        ("D Mixolydian", Key("D", "mixolydian"), [66, 72, 67, 71]),
        ("Em", Key("E", "minor"), [66, 72, 67, 71]),
        ("F#m", Key("F#", "minor"), [66, 73, 68, 71]),
        ("Bb", Key("Bb"), [65, 72, 67, 70]),
        ("EbLYD", Key("Eb", "lydian"), [65, 72, 67, 70]),
        ("C#loc", Key("C#", "locrian"), [66, 73, 67, 71]),
        ("D exp ^f _b", Key("D"), [66, 72, 67, 70]),
        ("D ^g", Key("D"), [66, 73, 68, 71]),
        ("Am clef=bass transpose=-2", Key("A", "minor"), [65, 72, 67, 71]),
        ("none", None, [65, 72, 67, 71]),
        ("HP", Key("A", "mixolydian"), [66, 73, 67, 71]),
    ],
)
def test_keys_modes_and_explicit_accidentals(field, key, f_c_g_b):
    (score,) = read_abc(f"X:1\nT:t\nK:{field}\nFcGB\n")
    assert score.key == key
    assert [n.pitch for n in score.notes] == f_c_g_b


@pytest.mark.parametrize(
    ("q", "unit", "qpm"),
    [("1/4=120", "1/8", 120), ("120", "1/8", 60), ('"Allegro" 1/4=132', "1/8", 132),
     ("3/8=80", "1/8", 120), ("1/2=60", "1/8", 120), ("C=100", "1/4", 100), ('"Slow"', "1/8", 120)],
)  # fmt: skip
def test_tempo_forms(q, unit, qpm):
    (score,) = read_abc(f"X:1\nT:t\nL:{unit}\nQ:{q}\nK:C\nC\n")
    assert [(t.start, t.qpm) for t in score.tempos] == [(0, qpm)]


def test_defaults_unit_length_tempo_and_meter():
    (score,) = read_abc("X:1\nT:t\nM:2/4\nK:C\nC\n")
    assert score.notes[0].duration == F(1, 4)  # 2/4 < 3/4: L defaults to 1/16
    assert [(t.start, t.qpm) for t in score.tempos] == [(0, 120.0)]
    (score,) = read_abc("X:1\nT:t\nM:C|\nK:C\nC\n")
    assert score.notes[0].duration == F(1, 2)
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (2, 2)
    (score,) = read_abc("X:1\nT:t\nM:2+3/8\nK:C\nC\n")
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (5, 8)


def test_comments_continuations_and_several_tunes():
    text = "%abc\nX:1\nT:One\nK:C\nC D % comment\\\nE\n\nX:2\nT:Two\nK:G\nF\n"
    scores = read_abc(text)
    assert [s.title for s in scores] == ["One", "Two"]
    assert [n.pitch for n in scores[0].notes] == [60, 62, 64]
    assert [n.pitch for n in scores[1].notes] == [66]


def test_split_abc_tunes_keeps_raw_text_and_lines():
    text = "% header\n\nX:1\nT:First\nK:C\nC\n\nX: 22\nT:Second\nK:D\nD\n"
    tunes = split_abc_tunes(text)
    assert [(t.number, t.title, t.line) for t in tunes] == [("1", "First", 3), ("22", "Second", 8)]
    assert tunes[1].text == "X: 22\nT:Second\nK:D\nD\n"
    assert read_abc_book(text).texts == tunes


def test_reads_paths_and_gzip(tmp_path):
    text = HEAD + "C D E\n"
    (tmp_path / "a.abc").write_text(text)
    (tmp_path / "a.abc.gz").write_bytes(__import__("gzip").compress(text.encode()))
    for name in ("a.abc", "a.abc.gz"):
        (score,) = read_abc(tmp_path / name)
        assert [n.pitch for n in score.notes] == [60, 62, 64]
    assert read_abc(str(tmp_path / "a.abc"))[0].title == "Test"


@pytest.mark.parametrize(
    ("body", "meter", "pickup"),
    [
        ("A|dfa afd|gbg fed|", "6/8", F(1, 2)),  # one eighth before the first bar line
        ("(3ABc|d2d2 d4|", "4/4", F(1)),  # a triplet upbeat: one quarter
        ("|:dfa afd|gbg fed:|", "6/8", F(0)),  # starts on the bar line
        ("dfa afd|gbg fed|", "6/8", F(0)),  # a full first bar is no upbeat
    ],
)
def test_an_upbeat_is_the_scores_pickup(body, meter, pickup):
    (score,) = read_abc(f"X:1\nT:Upbeat\nM:{meter}\nL:1/8\nK:D\n{body}\n")
    assert score.pickup == pickup
    assert score.notes[0].start == 0  # times still count from the first note
