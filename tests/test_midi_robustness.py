"""Awkward and broken MIDI input: a Score or a MidiFormatError naming the file, nothing else."""

from __future__ import annotations

import io
import random
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.music import (
    MidiFormatError,
    MusicFormatError,
    Note,
    Score,
    Tempo,
    read_midi,
    write_midi,
)

ROBUSTNESS_FILES = [
    "music21__test08.mid",
    "music21__test15.mid",
    "music21__test16.mid",
    "music21__test19.mid",
    "prettymidi__example.mid",
    "symusic__Issue104_Bizarre_Love_Triangle2.mid",
    "symusic__ValueError_Control168.mid",
    "symusic__empty.mid",
    "tonejs__230_bpm_multitrack.mid",
    "tonejs__bach_format0.mid",
    "tonejs__pitchBendTest.mid",
]
REJECTED = {"symusic__Issue104_Bizarre_Love_Triangle2.mid"}  # truncated: 4 of 26 tracks


@pytest.fixture(scope="module")
def robustness_dir(shared_data):
    return shared_data / "robustness" / "midi"


@pytest.mark.parametrize("name", ROBUSTNESS_FILES)
def test_robustness_file_reads_or_is_rejected_cleanly(robustness_dir, name):
    path = robustness_dir / name
    if name in REJECTED:
        with pytest.raises(MidiFormatError, match=name) as info:
            read_midi(path)
        assert info.value.__cause__ is not None  # mido's own error is kept
        return
    score = read_midi(path)
    assert read_midi(_rewind(score)) == score  # and it round-trips


def _rewind(score: Score) -> io.BytesIO:
    buf = io.BytesIO()
    write_midi(score, buf)
    buf.seek(0)
    return buf


def test_robustness_files_keep_their_features(robustness_dir):
    def read(name):
        return read_midi(robustness_dir / name)

    assert any(n.duration == 0 for n in read("music21__test16.mid").notes)  # zero-length
    assert read("music21__test08.mid").key is not None  # first of 3 key signatures
    assert len(read("music21__test19.mid").notes) > 0  # GBK lyrics do not stop it
    drums = read("tonejs__230_bpm_multitrack.mid")
    assert any(n.is_drum for n in drums.notes) and drums.tempos[0].qpm == pytest.approx(230)
    bach = read("tonejs__bach_format0.mid")
    # no tempo (default 120); its two 4/4 events share tick 0, and the last one wins
    assert bach.tempos == [] and [(t.start, t.numerator) for t in bach.time_signatures] == [(0, 4)]
    example = read("prettymidi__example.mid")
    assert len(example.tempos) == 420 and len(example.time_signatures) == 12
    assert {0, 29, 33, 52, 65} <= {n.program for n in example.notes}
    assert any(n.is_drum for n in example.notes)
    assert read("symusic__empty.mid").notes == []
    # a control value of 168 is clipped rather than losing the whole file
    assert len(read("symusic__ValueError_Control168.mid").notes) > 1000


def _valid_bytes() -> bytes:
    notes = [Note(60 + k % 12, Fraction(k, 3), Fraction(1, 3), 90, k % 3 * 20) for k in range(24)]
    score = Score(notes=notes, tempos=[Tempo(Fraction(0), 100.0)], title="fuzz seed")
    return _rewind(score).getvalue()


def _assert_rejected(tmp_path, data: bytes, match: str | None = None) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    with pytest.raises(MidiFormatError, match=match) as info:
        read_midi(path)
    assert "bad.mid" in str(info.value)


def test_empty_file(tmp_path):
    _assert_rejected(tmp_path, b"", "empty")


def test_random_bytes(tmp_path):
    _assert_rejected(tmp_path, random.Random(0).randbytes(500))


def test_not_midi(tmp_path):
    _assert_rejected(tmp_path, b"X:1\nT:a tune\nK:D\nabc|\n", "MThd")


def test_valid_header_then_garbage(tmp_path):
    header = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0"
    _assert_rejected(tmp_path, header + random.Random(1).randbytes(300))


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.9, 0.99])
def test_truncated_real_file(tmp_path, fraction):
    data = _valid_bytes()
    _assert_rejected(tmp_path, data[: int(len(data) * fraction)])


def test_smpte_division_is_rejected(tmp_path):
    data = bytearray(_valid_bytes())
    data[12:14] = (-25 * 256 + 40).to_bytes(2, "big", signed=True)  # 25 fps, 40 ticks/frame
    _assert_rejected(tmp_path, bytes(data), "SMPTE")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(MidiFormatError, match="nope.mid") as info:
        read_midi(tmp_path / "nope.mid")
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_directory_is_rejected(tmp_path):
    with pytest.raises(MidiFormatError):
        read_midi(tmp_path)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in edits:
        i = where % (len(out) + 1)
        if kind == 0 and i < len(out):
            out[i] ^= value or 1  # flip bits
        elif kind == 1 and i < len(out):
            del out[i]
        else:
            out.insert(i, value)
    return bytes(out)


SEED = _valid_bytes()
EDITS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255)),
    min_size=1,
    max_size=8,
)


def _read_or_reject(data: bytes) -> None:
    """Nothing but a MusicFormatError may escape read_midi; what it reads, it can write."""
    try:
        score = read_midi(io.BytesIO(data))
    except MusicFormatError:
        return
    assert read_midi(_rewind(score)) == score


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_fuzz_mutated_real_file(edits):
    """Flip, delete or insert bytes of a small real file (written by write_midi)."""
    _read_or_reject(_mutate(SEED, edits))


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300) | st.binary(max_size=200).map(lambda b: SEED[:14] + b))
def test_fuzz_random_bytes(data):
    _read_or_reject(data)
