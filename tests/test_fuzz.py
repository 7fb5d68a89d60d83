"""Property-based fuzzing of the readers and the note tokenizer (hypothesis).

The contract: any input gives a valid Score (``assert_valid_score``) that the note
tokenizer encodes, or a ``MusicFormatError``; never another exception, a hang or memory
in proportion to a number written in the file. Each example runs in a forked child under
a CPU and memory limit (``score_checks.run_bounded``).
"""

from __future__ import annotations

import io
from fractions import Fraction

from conftest import ASSETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from score_checks import assert_valid_score, run_bounded

from musicgen.music import MusicFormatError, Note, Score, Tempo, TimeSignature, read_midi
from musicgen.music.abc import read_abc_book, split_abc_tunes
from musicgen.music.midi import write_midi
from musicgen.tokenizers import NoteTokenizer

FUZZ = settings(
    max_examples=250,  # 750 inputs over the three tests
    deadline=None,  # time is bounded per example by run_bounded's CPU limit instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKENIZER = NoteTokenizer()


def check_abc(text: str, expand: bool) -> None:
    book = read_abc_book(text, expand_repeats=expand)  # never raises: errors are listed
    assert all(isinstance(e, MusicFormatError) for e in book.errors)
    for score in book.tunes:
        check_score(score)


def check_midi(data: bytes) -> None:
    try:
        score = read_midi(io.BytesIO(data))
    except MusicFormatError:
        return
    check_score(score)


def check_score(score) -> None:
    """Valid, and within the tokenizer's span: a reader's Score always encodes."""
    assert_valid_score(score)
    ids = TOKENIZER.encode(score)
    assert ids[0] == TOKENIZER.bos_id and ids[-1] == TOKENIZER.eos_id
    assert_valid_score(TOKENIZER.decode(ids))


# --- ABC built from ABC's own tokens ------------------------------------------------------
# Token by token rather than character by character: ``^^g''''`` or ``[1-99999`` are
# one draw each here, and would be rare as random characters.
_ABC_TOKENS = (
    list("ABCDEFGabcdefgzxZy") + ["^", "^^", "_", "__", "=", "'", "''''", ",", ",,,,,,"]
    + ["2", "/2", "3/", "/", "//", "0", "|", "||", "|]", "[|", "|:", ":|", "::", "[1", "|2"]
    + ["[1-3", "[", "]", "(3", "(3:2:4", "(", ")", ">", "<<", "-", "{", "}", '"Am"', '"']
    + ["!trill!", "&", " ", "  ", "\n", "\t", "%", ".", "~", "\x01", "\\", "[K:G]", "[V:2]"]
    + ["[L:1/16]", "[M:3/4]", "[Q:1/4=80]", "[P:A]", "\nV:2\n", "\nT:x\n", "\n\n"]
)  # fmt: skip
_NUMBERS = st.integers(0, 10**30).map(str) | st.sampled_from(["1e9", "inf", "-1", "nan"])
_OCTAVES = st.sampled_from("',").flatmap(lambda mark: st.integers(0, 6).map(mark.__mul__))
_NOTES = st.tuples(
    st.sampled_from(["", "", "^", "^^", "_", "__", "="]),
    st.sampled_from("CDEFGABcdefgab"),
    _OCTAVES,
    st.sampled_from(["", "", "2", "/2", "3/", "/", "4"]) | _NUMBERS,
).map("".join)
_COUNTED = st.tuples(st.sampled_from(["Z", "[1-", "|1-", "(", "(3::", "[1,"]), _NUMBERS)
_ABC_PIECES = _NOTES | _NOTES | st.sampled_from(_ABC_TOKENS) | _COUNTED.map("".join)
_MUSIC = st.lists(_ABC_PIECES, min_size=1, max_size=80).map("".join)
_FIELD_VALUES = st.sampled_from(["1/8", "1/4", "3/4", "6/8", "C|", "1/4=120", "120", "D"]) | (
    st.lists(
        st.sampled_from(["1", "/", "8", "=", "C", "|", " ", "Dm", "+", "("]) | _NUMBERS, max_size=4
    )
).map("".join)
_FIELDS = st.tuples(st.sampled_from("LMQKT"), _FIELD_VALUES).map(lambda f: f"{f[0]}:{f[1]}")


@st.composite
def abc_texts(draw) -> str:
    fields = draw(st.lists(_FIELDS, max_size=3))
    key = draw(st.sampled_from(["K:D", "K:Ador", "K:none", "K:C clef=bass", "K:Bb"]))
    return "\n".join(["X:1", *fields, key, draw(_MUSIC)]) + "\n"


@FUZZ
@given(abc_texts(), st.booleans())
def test_abc_from_its_alphabet_reads_or_fails_clearly(text, expand):
    run_bounded(check_abc, text, expand)


# --- real tunes, mutated -------------------------------------------------------------------
_REAL_TUNES = [
    tune.text
    for path in sorted(ASSETS.glob("*.abc"))
    for tune in split_abc_tunes(path.read_text(encoding="utf-8"))
]
_EDITS = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "repeat"]),
    st.floats(0, 1),
    st.lists(_ABC_PIECES, min_size=1, max_size=4).map("".join),
)


def mutate(text: str, edits) -> str:
    for kind, where, piece in edits:
        i = int(where * len(text))
        if kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + len(piece) :]
        elif kind == "replace":
            text = text[:i] + piece + text[i + len(piece) :]
        else:  # a stretch of the tune written out many times over
            text = text[:i] + text[i : i + 40] * (len(piece) * 8) + text[i:]
    return text


@FUZZ
@given(st.sampled_from(_REAL_TUNES), st.lists(_EDITS, min_size=1, max_size=6), st.booleans())
def test_mutated_real_tunes_read_or_fail_clearly(tune, edits, expand):
    run_bounded(check_abc, mutate(tune, edits), expand)


# --- MIDI files written by write_midi, with bytes mutated ---------------------------------
def _midi_bytes(score: Score) -> bytes:
    out = io.BytesIO()
    write_midi(score, out)
    return out.getvalue()


_MELODY = Score(
    notes=[Note(60 + i % 12, Fraction(i, 2), Fraction(1, 2), 70 + i) for i in range(24)],
    time_signatures=[TimeSignature(Fraction(0), 3, 4)],
    tempos=[Tempo(Fraction(0), 96.0)],
    title="fuzz",
)
_CHORDS = Score(
    notes=[Note(48 + p, Fraction(i), Fraction(1), program=33) for i in range(8) for p in (0, 4, 7)]
    + [Note(36, Fraction(i), Fraction(1, 4), is_drum=True) for i in range(8)],
)
_MIDI_FILES = [_midi_bytes(_MELODY), _midi_bytes(_CHORDS)]
_BYTE_EDITS = st.tuples(
    st.sampled_from(["set", "insert", "delete", "big_delta"]),
    st.floats(0, 1),
    st.binary(min_size=1, max_size=4),
)


def mutate_bytes(data: bytes, edits) -> bytes:
    for kind, where, piece in edits:
        i = int(where * len(data))
        if kind == "set":  # header and chunk lengths live in the first bytes: hit them often
            i = i if where > 0.3 else int(where * 60)
            data = data[:i] + piece + data[i + len(piece) :]
        elif kind == "insert":
            data = data[:i] + piece + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + len(piece) :]
        else:  # the largest variable-length delta time MIDI can write
            data = data[:i] + b"\xff\xff\xff\x7f" + data[i:]
    return data


@FUZZ
@given(st.sampled_from(_MIDI_FILES), st.lists(_BYTE_EDITS, min_size=1, max_size=5))
def test_mutated_midi_reads_or_fails_clearly(data, edits):
    run_bounded(check_midi, mutate_bytes(data, edits))
