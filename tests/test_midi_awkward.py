"""Awkward real-world MIDI features, in files the tests write byte by byte (no corpus
needed): what each reader decision in ``musicgen.music.midi_read`` promises, checked."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest
from smf import key_signature, meta, smf, tempo, time_signature, track

from musicgen.music import MidiFormatError, read_midi, write_midi

ON, OFF = 0x90, 0x80


def _read(tmp_path, data: bytes, name: str = "awkward.mid"):
    path = tmp_path / name
    path.write_bytes(data)
    score = read_midi(path)
    again = io.BytesIO()
    write_midi(score, again)
    again.seek(0)
    assert read_midi(again) == score  # whatever we read, we write back exactly
    return score


def test_type0_with_running_status_and_two_meters_at_one_tick(tmp_path):
    # running status: after the first note-on, data bytes follow without a status byte;
    # a note-on of velocity 0 ends a note
    events = [
        (0, time_signature(3, 2)), (0, time_signature(4, 2)),  # the last one at a tick wins
        (0, bytes([ON, 60, 90])), (480, bytes([62, 90])), (0, bytes([60, 0])),
        (480, bytes([64, 90])), (0, bytes([62, 0])), (480, bytes([64, 0])),
    ]  # fmt: skip
    score = _read(tmp_path, smf(0, track(*events)))
    assert [(n.pitch, n.start, n.duration) for n in score.notes] == [
        (60, 0, 1), (62, 1, 1), (64, 2, 1),
    ]  # fmt: skip
    assert score.tempos == []  # no tempo event: the MIDI default, 120 qpm, is implied
    assert [(t.start, t.numerator, t.denominator) for t in score.time_signatures] == [(0, 4, 4)]


def test_zero_length_notes_and_repeated_pitches_pair_first_in_first_out(tmp_path):
    events = [
        (0, bytes([ON, 67, 80])), (0, bytes([OFF, 67, 0])),  # zero length: kept
        (0, bytes([ON, 60, 80])), (240, bytes([ON, 60, 80])),  # B starts before A ends
        (0, bytes([OFF, 60, 0])), (240, bytes([OFF, 60, 0])),
    ]  # fmt: skip
    score = _read(tmp_path, smf(1, track(*events)))
    got = sorted((n.pitch, n.start, n.duration) for n in score.notes)
    assert got == [(60, 0, Fraction(1, 2)), (60, Fraction(1, 2), Fraction(1, 2)), (67, 0, 0)]


def test_the_first_of_several_key_signatures_is_the_key(tmp_path):
    conductor = track((0, key_signature(2)), (960, key_signature(-3, 1)), (960, key_signature(0)))
    notes = track((0, bytes([ON, 62, 80])), (960, bytes([OFF, 62, 0])))
    score = _read(tmp_path, smf(1, conductor, notes))
    assert (score.key.tonic, score.key.mode) == ("D", "major")


def test_lyrics_in_a_legacy_encoding_do_not_stop_the_notes(tmp_path):
    gbk = "小星星".encode("gbk")  # not UTF-8: a reader that decodes strictly would fail
    events = [(0, meta(0x03, "歌".encode("gbk"))), (0, meta(0x05, gbk)),
              (0, bytes([ON, 72, 100])), (480, bytes([OFF, 72, 0]))]  # fmt: skip
    score = _read(tmp_path, smf(1, track(*events)))
    assert [n.pitch for n in score.notes] == [72]


def test_a_controller_value_above_127_is_clipped_not_fatal(tmp_path):
    events = [(0, bytes([0xB0, 7, 168]))]  # volume 168: not a legal data byte
    events += [(120 * (k > 0), bytes([ON, 60 + k, 90])) for k in range(8)]
    events += [(120, bytes([OFF, 60 + k, 0])) for k in range(8)]
    score = _read(tmp_path, smf(1, track(*events)))
    assert len(score.notes) == 8


def test_drums_tempo_and_programs_of_a_multitrack_file(tmp_path):
    conductor = track((0, tempo(260870)))  # 60e6 / 260870 = 230.0 qpm
    piano = track((0, bytes([0xC0, 33])), (0, bytes([ON, 48, 90])), (960, bytes([OFF, 48, 0])))
    drums = track((0, bytes([0x99, 36, 110])), (120, bytes([0x89, 36, 0])))
    score = _read(tmp_path, smf(1, conductor, piano, drums))
    assert score.tempos[0].qpm == pytest.approx(230)
    by_pitch = {n.pitch: n for n in score.notes}
    assert by_pitch[48].program == 33 and not by_pitch[48].is_drum
    assert by_pitch[36].is_drum


def test_many_tempo_and_meter_changes_are_all_kept(tmp_path):
    changes = []
    for k in range(40):
        changes.append((0 if k == 0 else 480, tempo(500000 + 1000 * k)))
        if k % 10 == 0:
            changes.append((0, time_signature(3 + k // 10, 2)))
    notes = track((0, bytes([ON, 60, 80])), (480 * 40, bytes([OFF, 60, 0])))
    score = _read(tmp_path, smf(1, track(*changes), notes))
    assert len(score.tempos) == 40 and len(score.time_signatures) == 4


def test_a_file_without_notes_reads_as_an_empty_score(tmp_path):
    score = _read(tmp_path, smf(1, track((0, tempo(500000)))))
    assert score.notes == []


def test_a_header_promising_more_tracks_than_the_file_holds_is_rejected(tmp_path):
    data = smf(1, track((0, bytes([ON, 60, 80])), (480, bytes([OFF, 60, 0]))), declared=4)
    path = tmp_path / "short.mid"
    path.write_bytes(data)
    with pytest.raises(MidiFormatError, match="short.mid"):
        read_midi(path)


def test_a_track_cut_off_in_mid_event_is_rejected(tmp_path):
    whole = track((0, bytes([ON, 60, 80])), (480, bytes([OFF, 60, 0])))
    path = tmp_path / "cut.mid"
    path.write_bytes(smf(1, whole)[:-6])
    with pytest.raises(MidiFormatError, match="cut.mid"):
        read_midi(path)
