"""Malformed ABC: a clear AbcParseError naming file, tune and line, and the rest survives."""

from __future__ import annotations

import contextlib
import logging
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.music import AbcParseError, MusicFormatError, Score, read_abc
from musicgen.music.abc import read_abc_book

ASSETS = Path(__file__).resolve().parent / "assets"
BAD_BOOK = ASSETS / "abc_one_bad_tune.abc"
GOOD = "X:1\nT:Good\nM:4/4\nL:1/8\nK:G\nGABc d2B2|\n"


def test_one_bad_token_costs_one_token_not_the_tune():
    book = read_abc_book(BAD_BOOK)
    assert [s.title for s in book.tunes] == ["Good One", "Bad Tuplet", "Good Two"]
    assert book.errors == []
    (warning,) = book.warnings
    assert (warning.source, warning.tune, warning.line) == (str(BAD_BOOK), "X:2 Bad Tuplet", 13)
    assert "tuplet" in str(warning) and "column 4" in str(warning)
    # (0 is dropped; the notes around it keep their places: G A a b c d2
    assert [n.pitch for n in book.tunes[1].notes] == [67, 69, 81, 83, 72, 74]
    assert [t.number for t in book.texts] == ["1", "2", "3"]


def test_a_tune_with_no_key_is_still_an_error_beside_the_others():
    book = read_abc_book(GOOD + "\nX:2\nT:No Key\nGABc|\n")
    assert [s.title for s in book.tunes] == ["Good"]
    (error,) = book.errors
    assert error.tune == "X:2 No Key" and "K:" in error.message


def test_read_abc_warns_or_raises_when_strict(caplog):
    with caplog.at_level(logging.WARNING):
        assert len(read_abc(BAD_BOOK)) == 3
    assert "Bad Tuplet" in caplog.text and "line 13" in caplog.text
    with pytest.raises(AbcParseError, match="X:2 Bad Tuplet"):
        read_abc(BAD_BOOK, strict=True)


@pytest.mark.parametrize(
    ("body", "pitches", "words"),
    [
        ("C [E2G2 A B", [60, 64, 67, 69, 71], "chord"),  # a chord never closed
        ("C [E2z2] A", [60, 64, 69], "rest in chord"),
        # one bad token, not the word: an accidental with no note (and its length), or
        # one stray character; the notes written after it are ABC and are played
        ("C =3DE F", [60, 62, 64, 65], "=3DE"),  # e-mail debris
        ("C ^3^FG", [60, 66, 67], "^3^FG"),
        ("C =>D E", [60, 62, 64], "=>D"),  # C> D: C dotted
        ("C } D", [60, 62], "cannot read"),
        ("C }DE F", [60, 62, 64, 65], "}DE"),
        ("C ,D E", [60, 62, 64], "cannot read"),
    ],
)
def test_recovery_drops_the_bad_element_and_names_line_and_column(body, pitches, words):
    book = read_abc_book(f"X:5\nT:Typo\nL:1/4\nK:C\n{body}\n")
    assert [n.pitch for n in book.tunes[0].notes] == pitches
    (warning,) = book.warnings
    assert warning.tune == "X:5 Typo" and warning.line == 5
    assert words in str(warning) and "column 3" in str(warning)
    with pytest.raises(AbcParseError):
        read_abc(f"X:5\nT:Typo\nL:1/4\nK:C\n{body}\n", strict=True)


def test_an_ending_number_after_a_line_break_is_the_ending_of_the_bar_before():
    # ABC 2.1 §4.9 writes the ending right after its bar line (":|2"); written across a
    # line break (":|" / "2 F G") it can only be that ending, and abc2midi plays it so
    text = "X:6\nT:Split\nL:1/4\nK:C\n|: C D |1 E :|\n2F G |]\n"
    book = read_abc_book(text, expand_repeats=True)
    assert [n.pitch for n in book.tunes[0].notes] == [60, 62, 64, 60, 62, 65, 67]
    (warning,) = book.warnings
    assert warning.line == 6 and "ending 2" in str(warning)
    with pytest.raises(AbcParseError):
        read_abc(text, strict=True)
    # after a line that does not end with a bar line, a number is no ending
    assert len(read_abc_book(text.replace(":|\n2", ":| C\n2")).warnings) == 1


def test_a_key_with_an_unknown_mode_keeps_its_tonic():
    book = read_abc_book("X:1\nT:t\nK:Bn\nf c\n")
    assert [n.pitch for n in book.tunes[0].notes] == [78, 73]  # B major: F# and C#
    assert "Bn" in str(book.warnings[0])
    with pytest.raises(AbcParseError, match="unknown mode"):
        read_abc("X:1\nT:t\nK:Bn\nf c\n", strict=True)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("A (0abc", "tuplet"),
        ("A B (3", "tuplet"),
        ("[CE\nG", "chord"),
        ("[CE|G]", "chord"),
        ("A/0 B", "zero"),
        ("A0 B", "zero"),
        ("A <> B", "broken"),
        ("A B } c", "cannot read"),
        ("A B \x07 c", "cannot read"),
    ],
)
def test_malformed_music_names_the_problem_and_line(body, words):
    with pytest.raises(AbcParseError, match=words) as info:
        read_abc(f"X:7\nT:Broken\nK:C\n{body}\n", strict=True)
    assert info.value.tune == "X:7 Broken"
    assert info.value.line == 4
    assert info.value.source == "<string>"


@pytest.mark.parametrize(
    ("header", "words"),
    [("K:Q", "unknown key"), ("K:G flat", "unknown mode"), ("M:x/y\nK:C", "meter"),
     ("L:0\nK:C", "unit"), ("T:no key", "K: to end")],
)  # fmt: skip
def test_bad_header_fields(header, words):
    with pytest.raises(AbcParseError, match=words):
        read_abc(f"X:1\n{header}\nC D\n", strict=True)


def test_empty_input_gives_an_empty_book(tmp_path):
    empty = tmp_path / "empty.abc"
    empty.write_bytes(b"")
    assert read_abc(empty) == []
    assert read_abc(empty, strict=True) == []
    book = read_abc_book(empty)
    assert (book.tunes, book.errors, book.texts) == ([], [], [])


def test_missing_file_is_an_error_in_the_book(tmp_path):
    book = read_abc_book(tmp_path / "nope.abc")
    assert book.tunes == [] and len(book.errors) == 1
    with pytest.raises(AbcParseError, match="nope.abc"):
        read_abc(tmp_path / "nope.abc", strict=True)


def test_random_bytes_never_crash(tmp_path):
    rng = random.Random(0)
    path = tmp_path / "noise.abc"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(4000)))
    book = read_abc_book(path)
    assert all(isinstance(e, AbcParseError) for e in book.errors)
    path.write_bytes(b"X:1\nK:C\n" + bytes(rng.randrange(256) for _ in range(500)))
    book = read_abc_book(path)
    assert len(book.tunes) + len(book.errors) == 1


def test_latin1_title_is_decoded(tmp_path):
    path = tmp_path / "latin1.abc"
    path.write_bytes("X:1\nT:Caf\xe9 Valse\nK:C\nCDE\n".encode("latin-1"))
    (score,) = read_abc(path, strict=True)
    assert score.title == "Café Valse"


def test_robustness_corpus_gives_scores_or_errors_only(shared_data):
    paths = sorted((shared_data / "robustness" / "abc").glob("*.abc"))
    assert paths
    for path in paths:
        book = read_abc_book(path)
        assert len(book.tunes) + len(book.errors) == len(book.texts), path.name
        assert all(isinstance(s, Score) for s in book.tunes)
        assert all(isinstance(e, AbcParseError) and e.source == str(path) for e in book.errors)
        assert all(e.tune and e.line for e in book.errors)


REAL_TUNE = (
    "X:3\nT:Belfast\nM:C|\nL:1/8\nK:D Major\nag|(3faf df AdFA|DFAd f2ef|gbec dfAF|GABG E2ag|\n"
    '(3DEF|GFGA Bcde|[1 "A7"fgfe dcdB:|[2 A2f2 fef2||\n{g}G2e2 ede2|~GFGA !trill!Bcde|]\n'
)
_ABC_CHARS = "ABCDEFGabcdefgzxZ,'^_=/0123456789|:[]()<>-{}\"!.~ \nKMLQV+&y\\%"


@st.composite
def mutated_tunes(draw):
    text = list(REAL_TUNE)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "insert", "swap"]))
        if op == "delete":
            del text[i]
        elif op == "insert":
            text.insert(i, draw(st.sampled_from(_ABC_CHARS)))
        else:
            j = draw(st.integers(0, len(text) - 1))
            text[i], text[j] = text[j], text[i]
    return "".join(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(mutated_tunes(), st.text(alphabet=_ABC_CHARS, max_size=300), st.text(max_size=200))
)
def test_fuzz_only_music_format_errors_escape(text):
    with contextlib.suppress(MusicFormatError):
        read_abc("X:1\n" + text, strict=True)
    book = read_abc_book("X:1\n" + text)
    assert len(book.tunes) + len(book.errors) == len(book.texts)
    # the reader's last-resort net (a bug turned into an error) is never needed
    assert not [e for e in book.errors if e.message.startswith("unreadable")]
