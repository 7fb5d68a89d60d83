"""read_midi / write_midi on small MIDI files built here, with exactly known contents."""

from __future__ import annotations

import io
from fractions import Fraction as F

import mido
import pytest

from musicgen.music import Key, Note, Score, Tempo, TimeSignature, read_midi, write_midi
from musicgen.music.midi import mido_key_name, score_to_midifile


def _save(mid: mido.MidiFile, tmp_path, name: str = "t.mid"):
    path = tmp_path / name
    mid.save(path)
    return path


def _track(*messages) -> mido.MidiTrack:
    return mido.MidiTrack(list(messages))


def on(note, velocity, time, channel=0):
    return mido.Message("note_on", note=note, velocity=velocity, time=time, channel=channel)


def off(note, time, channel=0):
    return mido.Message("note_off", note=note, velocity=64, time=time, channel=channel)


def pc(program, time=0, channel=0):
    return mido.Message("program_change", program=program, time=time, channel=channel)


def meta(kind, time=0, **fields):
    return mido.MetaMessage(kind, time=time, **fields)


def _type1_file() -> mido.MidiFile:
    """Conductor + melody with a program change + drums + a track of awkward notes."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(
        _track(
            meta("track_name", name="Test Tune"),
            meta("set_tempo", tempo=500000),
            meta("time_signature", numerator=3, denominator=4),
            meta("key_signature", key="Bm"),
            meta("set_tempo", time=960, tempo=400000),
            meta("time_signature", time=480, numerator=6, denominator=8),
            meta("key_signature", key="D"),  # a later key change: the first key wins
        )
    )
    mid.tracks.append(  # melody: program 24, then 40 from tick 960
        _track(
            meta("track_name", name="melody"),
            pc(24),
            on(60, 90, 0),
            off(60, 480),
            on(62, 80, 0),
            on(62, 0, 240),  # velocity 0 = note-off
            pc(40, 240),
            on(64, 70, 0),
            off(64, 240),
        )
    )
    mid.tracks.append(_track(on(36, 100, 0, channel=9), off(36, 240, channel=9)))
    mid.tracks.append(  # channel 1, program 73, sysex and unknown metas mixed in
        _track(
            pc(73, channel=1),
            on(65, 50, 0, channel=1),
            mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01]),
            mido.UnknownMetaMessage(type_byte=0x60, data=(1, 2, 3)),
            meta("sequencer_specific", data=(0x41, 0x10)),
            on(67, 55, 240, channel=1),  # zero-length: on and off at one tick
            off(67, 0, channel=1),
            on(65, 60, 0, channel=1),  # overlaps the open 65: FIFO pairing
            off(65, 240, channel=1),
            off(65, 240, channel=1),
            on(70, 30, 280, channel=1),  # never switched off: ends at the track's end
            meta("end_of_track", time=500),
        )
    )
    return mid


TYPE1_NOTES = [
    Note(60, F(0), F(1), 90, 24),
    Note(36, F(0), F(1, 2), 100, 0, True),
    Note(65, F(0), F(1), 50, 73),  # FIFO: the first off ends the first 65
    Note(62, F(1), F(1, 2), 80, 24),
    Note(65, F(1, 2), F(1), 60, 73),
    Note(67, F(1, 2), F(0), 55, 73),
    Note(64, F(2), F(1, 2), 70, 40),
    Note(70, F(1000, 480), F(500, 480), 30, 73),
]


def test_type1_notes_programs_drums_and_maps(tmp_path):
    score = read_midi(_save(_type1_file(), tmp_path))
    assert score.notes == Score(notes=list(TYPE1_NOTES)).notes
    assert score.tempos == [Tempo(F(0), 120.0), Tempo(F(2), 150.0)]
    assert score.time_signatures == [TimeSignature(F(0), 3, 4), TimeSignature(F(3), 6, 8)]
    assert score.key == Key("B", "minor")
    assert score.title == "Test Tune"


def test_type1_round_trip_is_exact(tmp_path):
    score = read_midi(_save(_type1_file(), tmp_path))
    again = read_midi(write_midi(score, tmp_path / "out.mid"))
    assert again == score


def test_type0_channels_carry_programs_and_drums(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=96)
    mid.tracks.append(
        _track(
            meta("key_signature", key="F#m"),
            pc(19, channel=3),
            pc(5, channel=9),  # a drum kit program is kept on drum notes
            on(48, 40, 0, channel=3),
            on(42, 90, 0, channel=9),
            off(42, 48, channel=9),
            on(50, 41, 0, channel=0),  # channel 0 never had a program change: 0
            off(48, 48, channel=3),
            off(50, 0, channel=0),
        )
    )
    score = read_midi(_save(mid, tmp_path))
    assert score.notes == [
        Note(42, F(0), F(1, 2), 90, 5, True),
        Note(48, F(0), F(1), 40, 19),
        Note(50, F(1, 2), F(1, 2), 41, 0),
    ]
    assert score.key == Key("F#", "minor")
    assert score.tempos == [] and score.time_signatures == [] and score.title == ""


def test_program_change_in_another_track_applies_in_stream_order(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=4)
    mid.tracks.append(_track(pc(30, channel=2), pc(31, time=4, channel=2)))
    mid.tracks.append(_track(on(60, 64, 0, channel=2), off(60, 4, channel=2), on(61, 64, 0, 2)))
    score = read_midi(_save(mid, tmp_path))
    assert [(n.pitch, n.program) for n in score.notes] == [(60, 30), (61, 31)]


def _raw_smf(division: int, track_body: bytes, fmt: int = 0) -> bytes:
    header = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + (1).to_bytes(2, "big")
    header += division.to_bytes(2, "big", signed=True)
    return header + b"MTrk" + len(track_body).to_bytes(4, "big") + track_body


def test_running_status_sysex_and_unknown_meta_in_raw_bytes(tmp_path):
    body = bytes.fromhex(
        "00 90 3C 40"  # note-on 60 vel 64
        "60 3C 00"  # running status: note-on vel 0 at +96 = note-off
        "00 F0 03 43 12 F7"  # sysex (cancels running status)
        "00 90 3E 50"  # note-on 62 vel 80
        "00 FF 60 02 01 02"  # unknown meta type 0x60
        "00 40 51"  # running status survives a meta event: note-on 64 vel 81
        "81 40 3E 00"  # +192 (variable-length 0x81 0x40), running status: 62 off
        "00 80 40 00"  # note-off 64
        "00 FF 2F 00"
    )
    path = tmp_path / "raw.mid"
    path.write_bytes(_raw_smf(96, body))
    assert read_midi(path).notes == [
        Note(60, F(0), F(1), 64),
        Note(62, F(1), F(2), 80),
        Note(64, F(1), F(2), 81),
    ]


def test_type2_tracks_play_one_after_another(tmp_path):
    mid = mido.MidiFile(type=2, ticks_per_beat=2)
    mid.tracks.append(_track(on(60, 64, 0), off(60, 2), meta("end_of_track", time=2)))
    mid.tracks.append(_track(on(62, 64, 1), off(62, 1)))
    assert [(n.pitch, n.start) for n in read_midi(_save(mid, tmp_path)).notes] == [
        (60, 0),
        (62, F(5, 2)),  # the first sequence ends at tick 4: 4 + 1 ticks at 2 per beat
    ]


def test_file_objects_are_accepted():
    score = Score(notes=[Note(60, F(1, 3), F(2, 3), 99, 11)], title="Žluťoučký 黄色")
    buf = io.BytesIO()
    assert write_midi(score, buf) is buf
    buf.seek(0)
    assert read_midi(buf) == score


def test_writer_layout_conductor_channels_and_end_of_track():
    notes = [Note(60 + p, F(p), F(1), 80, p) for p in range(17)]  # 17 melodic parts
    notes.append(Note(38, F(0), F(1, 2), 110, 0, True))
    mid = score_to_midifile(Score(notes=notes, tempos=[Tempo(F(0), 90.0)], title="T"))
    assert mid.type == 1 and mid.ticks_per_beat == 480
    conductor = [m.type for m in mid.tracks[0]]
    assert conductor == ["track_name", "set_tempo", "end_of_track"]
    assert all(t[-1].type == "end_of_track" for t in mid.tracks)
    channels = [next(m.channel for m in t if m.type == "note_on") for t in mid.tracks[1:]]
    assert channels[-1] == 9  # the drum part, sorted last
    assert 9 not in channels[:-1] and len(set(channels[:-1])) == 15  # 17 parts share 15


def test_many_parts_sharing_channels_keep_their_programs(tmp_path):
    # 20 parts play at once: channels are shared, programs must still come back right.
    notes = [Note(40 + p, F(k, 2), F(1, 2), 64, p) for p in range(20) for k in range(3)]
    score = Score(notes=notes)
    assert read_midi(write_midi(score, tmp_path / "m.mid")).notes == score.notes


def test_same_tick_order_repeated_and_zero_length_notes(tmp_path):
    notes = [
        Note(60, F(0), F(1), 70),
        Note(60, F(1), F(1), 71),  # repeated: the first note's off must come first
        Note(60, F(1), F(0), 72),  # zero length at the same tick and pitch
        Note(60, F(2), F(0), 73),
        Note(62, F(0), F(4), 74),  # nested same-pitch notes: written to separate tracks
        Note(62, F(1), F(1), 75),
    ]
    score = Score(notes=notes)
    mid = score_to_midifile(score)
    first = [(m.type, m.time, m.velocity) for m in mid.tracks[1] if m.type.startswith("note")]
    assert first[:6] == [
        ("note_on", 0, 70),
        ("note_on", 0, 74),
        ("note_off", 480, 0),  # the first 60 ends before the next ones start
        ("note_on", 0, 72),  # zero-length first, so FIFO pairs it with the next off
        ("note_on", 0, 71),
        ("note_off", 0, 0),  # the zero-length note's off, after its own on
    ]
    assert len(mid.tracks) == 3  # the nested 62 needed a second track
    assert read_midi(write_midi(score, tmp_path / "z.mid")).notes == score.notes


def test_ticks_per_beat_is_exact_when_possible_else_rounded():
    def tpb(*starts):
        return score_to_midifile(Score(notes=[Note(60, s, F(1)) for s in starts])).ticks_per_beat

    assert tpb(F(0)) == 480
    assert tpb(F(1, 7)) == 3360  # lcm(480, 7)
    assert tpb(F(1, 1024)) == 15360
    assert tpb(F(1, 32749)) == 32749  # prime: lcm with 480 is too big, the prime fits
    assert tpb(F(1, 32771)) == 480  # no exact resolution fits in 15 bits: rounded


def test_rounded_times_stay_close(tmp_path):
    score = Score(notes=[Note(60, F(10000, 32771), F(1, 3))])
    back = read_midi(write_midi(score, tmp_path / "r.mid")).notes[0]
    assert abs(back.start - score.notes[0].start) <= F(1, 960)
    assert abs(back.end - score.notes[0].end) <= F(1, 960)


@pytest.mark.parametrize(
    ("key", "name", "read_back"),
    [
        (Key("D", "major"), "D", Key("D", "major")),
        (Key("F#", "minor"), "F#m", Key("F#", "minor")),
        (Key("Bb", "minor"), "Bbm", Key("Bb", "minor")),
        (Key("Cb", "major"), "Cb", Key("Cb", "major")),
        (Key("A#", "minor"), "A#m", Key("A#", "minor")),
        (Key("D", "dorian"), "Am", Key("A", "minor")),  # modes: same signature
        (Key("G", "mixolydian"), "C", Key("C", "major")),
        (Key("E", "phrygian"), "Am", Key("A", "minor")),
        (Key("F", "lydian"), "C", Key("C", "major")),
        (Key("G#", "major"), "Ab", Key("Ab", "major")),  # 8 sharps: enharmonic
    ],
)
def test_key_signatures(tmp_path, key, name, read_back):
    assert mido_key_name(key) == name
    assert read_midi(write_midi(Score(key=key), tmp_path / "k.mid")).key == read_back


def test_tempo_meter_and_key_survive_writing(tmp_path):
    # What an ABC tune carries (Q:, M:, K:), on a hand-built score.
    score = Score(
        notes=[Note(62, F(k, 2), F(1, 2)) for k in range(12)],
        time_signatures=[TimeSignature(F(0), 6, 8), TimeSignature(F(3), 9, 8)],
        tempos=[Tempo(F(0), 180.0), Tempo(F(3), 7.0)],
        key=Key("G", "major"),
        title="The Kesh",
    )
    back = read_midi(write_midi(score, tmp_path / "abc.mid"))
    assert back.notes == score.notes
    assert back.time_signatures == score.time_signatures
    assert back.key == score.key and back.title == score.title
    assert back.tempos[0] == score.tempos[0]  # 333333 µs reads back as 180, not 180.00018
    assert back.tempos[1].start == F(3) and back.tempos[1].qpm == pytest.approx(7.0, rel=1e-6)


def test_unencodable_title_does_not_stop_writing(tmp_path):
    assert read_midi(write_midi(Score(title="a\ud800b"), tmp_path / "s.mid")).title == "a?b"


@pytest.mark.parametrize(
    "score",
    [
        Score(notes=[Note(128, F(0), F(1))]),
        Score(notes=[Note(60, F(0), F(1), program=128)]),
        Score(tempos=[Tempo(F(0), 0.0)]),
        Score(notes=[Note(60, F(-1), F(1))]),
    ],
)
def test_unwritable_scores_raise_value_error(score):
    with pytest.raises(ValueError):
        write_midi(score, io.BytesIO())


def test_empty_score_writes_a_playable_file(tmp_path):
    back = read_midi(write_midi(Score(), tmp_path / "e.mid"))
    assert back == Score()
