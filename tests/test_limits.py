"""Regressions from fuzzing: each input once crashed, hung, or read as an invalid Score.

Each now gives a clear ``MusicFormatError`` naming the tune and the place, or a valid
Score. Bodies run under ``run_bounded``'s CPU and memory limit, so a regression fails
instead of hanging the suite.
"""

from __future__ import annotations

import io
import json
import struct
from fractions import Fraction

import numpy as np
import pytest
from score_checks import assert_valid_score, run_bounded

from musicgen.data.cache import CacheError, TokenCache
from musicgen.music import (
    AbcParseError,
    MidiFormatError,
    Note,
    Score,
    ScoreLimitError,
    read_abc,
    read_midi,
    write_midi,
)
from musicgen.music.limits import MAX_ENDING_NUMBER, MAX_SPAN_QUARTERS, MAX_TUNE_CHARS
from musicgen.tokenizers import NoteTokenizer

TUNE = "X:7\nT:Fuzzed\nM:3/4\nL:1/8\nK:G\n"


def raises_abc(body: str, match: str, *, expand: bool = False) -> AbcParseError:
    def check() -> None:
        with pytest.raises(AbcParseError, match=match) as info:
            read_abc(TUNE + body, strict=True, expand_repeats=expand)
        assert "X:7 Fuzzed" in str(info.value) and "line" in str(info.value)

    run_bounded(check)


@pytest.mark.parametrize("expand", [False, True])
@pytest.mark.parametrize("ending", ["[1-200000000", "|1-5000", "[2,40"])
def test_an_ending_number_past_the_limit_is_an_error(ending, expand):
    raises_abc(f"|:GABc|{ending} dedB:|\n", f"goes past {MAX_ENDING_NUMBER}", expand=expand)


def test_endings_within_the_limit_still_play():
    tunes = read_abc(TUNE + "|:GA|[1-3 B:|[4 c|]\n", strict=True, expand_repeats=True)
    assert [n.pitch for n in tunes[0].notes] == [67, 69, 71] * 3 + [67, 69, 72]


@pytest.mark.parametrize("unit", ["1e9", "1/0", "10000000/1", "-1/8"])
def test_a_unit_length_that_is_not_a_small_fraction_is_an_error(unit):
    raises_abc(f"L:{unit}\nGABc|\n", "unit note length")


def test_a_huge_unit_in_the_header_is_an_error():
    def check() -> None:
        with pytest.raises(AbcParseError, match="unit note length"):
            read_abc("X:1\nL:1e9\nK:C\nCDEF|\n", strict=True)

    run_bounded(check)


def test_a_multi_bar_rest_of_trillions_of_bars_is_an_error():
    raises_abc("Z7000000000000000000|G|\n", "multi-bar rest")


def test_a_long_note_is_an_error_not_a_long_tokenization():
    raises_abc("G99999|\n", "longer than")
    raises_abc("G" + "3" * 5000 + "|\n", "over 6 digits")


@pytest.mark.parametrize("body", ["[" + "." * 20000 + "]", "~" * 200 + " " * 30000 + "\x02"])
def test_long_runs_of_decorations_or_spaces_read_quickly(body):
    def check() -> None:
        try:
            tunes = read_abc(TUNE + body + "\n", strict=True)
        except AbcParseError as e:
            assert "X:7" in str(e)
        else:
            assert all(not t.notes for t in tunes)

    run_bounded(check)


@pytest.mark.parametrize("note", ["^^g''''", "=c''''''", "_C,,,,,", "C,,,,,,"])
def test_pitches_outside_midi_are_errors(note):
    raises_abc(f"G {note}2 A|\n", "outside MIDI's range")


def test_the_extreme_pitches_are_kept():
    tunes = read_abc("X:1\nL:1/4\nK:C\nC,,,,, g'''' ^f''''|\n", strict=True)
    assert [n.pitch for n in tunes[0].notes] == [0, 127, 126]


@pytest.mark.parametrize("tempo", ["0", "-120", "inf", "1/4=nan", "1/4=0", "1/4=100000"])
def test_tempos_that_are_not_positive_and_finite_are_errors(tempo):
    def check() -> None:
        with pytest.raises(AbcParseError, match="tempo"):
            read_abc(f"X:1\nT:Q\nQ:{tempo}\nK:C\nCDE|\n", strict=True)
        with pytest.raises(AbcParseError, match="tempo"):  # inline, mid-tune
            read_abc(f"X:1\nK:C\nCD [Q:{tempo}] E|\n", strict=True)

    run_bounded(check)


def test_a_text_with_a_nul_byte_is_an_abc_error():
    with pytest.raises(AbcParseError, match="cannot read file"):
        read_abc("tune\x00name", strict=True)
    assert read_abc("tune\x00name") == []


def test_a_tune_over_the_size_limit_is_an_error_naming_it():
    big = "X:3\nT:Huge\nK:D\n" + "DEFG ABcd|" * (MAX_TUNE_CHARS // 10) + "\n"

    def check() -> None:
        with pytest.raises(AbcParseError, match=f"longer than {MAX_TUNE_CHARS}") as info:
            read_abc(big + "X:4\nT:Small\nK:D\nDEF|\n", strict=True)
        assert "X:3 Huge" in str(info.value)
        assert [t.title for t in read_abc(big + "X:4\nT:Small\nK:D\nDEF|\n")] == ["Small"]

    run_bounded(check)


def test_repeats_that_expand_past_the_note_limit_are_an_error():
    # 32 passes over an ending range, nested in many repeated sections
    body = "|:" + "GABc " * 200 + "|[1-32 d:|[32 e|]\n"
    raises_abc(body * 20, "repeats expand to more than", expand=True)


# --- MIDI ---------------------------------------------------------------------------------
def midi_bytes(notes: list[Note]) -> bytes:
    out = io.BytesIO()
    write_midi(Score(notes=notes), out)
    return out.getvalue()


MELODY = [Note(60 + i, Fraction(i), Fraction(1)) for i in range(8)]


def test_a_header_declaring_0x8000_tracks_or_more_is_an_error():
    data = midi_bytes(MELODY)
    for count in (0x8000, 0xFFFF):
        bad = data[:10] + struct.pack(">H", count) + data[12:]
        with pytest.raises(MidiFormatError, match=f"declares {count} tracks"):
            read_midi(io.BytesIO(bad))


def test_an_empty_track_chunk_or_unread_tracks_are_errors():
    data = midi_bytes(MELODY)
    first = data.index(b"MTrk")
    zero = data[: first + 4] + b"\0\0\0\0" + data[first + 8 :]
    with pytest.raises(MidiFormatError, match="length 0 but its events follow"):
        read_midi(io.BytesIO(zero))
    # a genuinely empty track (as abc2midi writes for a silent voice) is fine
    (tracks,) = struct.unpack(">H", data[10:12])
    empty = data[:10] + struct.pack(">H", tracks + 1) + data[12:] + b"MTrk\0\0\0\0"
    assert read_midi(io.BytesIO(empty)).notes == read_midi(io.BytesIO(data)).notes
    fewer = data[:10] + struct.pack(">H", 0) + data[12:]
    with pytest.raises(MidiFormatError, match="declares 0 tracks but the file holds"):
        read_midi(io.BytesIO(fewer))


def test_notes_past_the_span_limit_are_a_midi_error():
    far = MELODY + [Note(72, Fraction(MAX_SPAN_QUARTERS + 10), Fraction(1))]

    def check() -> None:
        with pytest.raises(MidiFormatError, match="the longest read"):
            read_midi(io.BytesIO(midi_bytes(far)))
        assert_valid_score(read_midi(io.BytesIO(midi_bytes(MELODY))))

    run_bounded(check)


def test_the_tokenizer_refuses_a_score_past_its_span():
    score = Score(notes=MELODY + [Note(72, Fraction(MAX_SPAN_QUARTERS + 1), Fraction(1))])

    def check() -> None:
        with pytest.raises(ScoreLimitError, match=f"encodes at most {MAX_SPAN_QUARTERS}"):
            NoteTokenizer().encode(score)

    run_bounded(check)


def test_a_cache_manifest_with_an_object_dtype_is_refused(tmp_path):
    (tmp_path / "tokens.bin").write_bytes(np.arange(8, dtype=np.uint16).tobytes())
    np.save(tmp_path / "offsets.npy", np.asarray([0, 8]))
    manifest = {"dtype": "O", "documents": [[]]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    def check() -> None:
        with pytest.raises(CacheError, match="token dtype 'O'"):
            TokenCache.open(tmp_path)

    run_bounded(check)
    manifest["dtype"] = "uint16"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert TokenCache.open(tmp_path).document(0).tolist() == list(range(8))
