""":class:`Score` → Standard MIDI File (type 1), built on mido.

Layout: track 0 is the conductor (track name = title, key signature, time-signature and
tempo maps); then the tracks of each part, a part being the notes of one
``(program, is_drum)`` pair, in order of ``(is_drum, program)``. A part takes one track,
plus one more for each level of same-pitch overlap in it (MIDI cannot say which note-off
ends which of two overlapping notes of one pitch, but the reader pairs notes within a
track, so overlap-free tracks read back exactly). Drums play on channel 10; melodic parts
take channels 1-9 and 11-16 in turn. With more than 15 melodic parts (or drum parts with
several programs) channels are shared, and then every note-on of a sharing part is
preceded by its own program change, so each note sounds, and reads back, with its program.

Resolution: ``ticks_per_beat`` is ``lcm(480, L)`` where ``L`` is the lcm of the
denominators of every note start and duration and every tempo and meter change time, so
every time is an exact tick; if that exceeds the 15-bit limit (32767) ``L`` alone is used,
and if even ``L`` does not fit, 480 with note starts and ends rounded to the nearest tick.

Order within a tick: note-offs, then (program change and) note-ons, then the offs of
zero-length notes, so a repeated note is not cut by its neighbour and a zero-length note's
off follows its own on. So ``read_midi(write_midi(score))`` gives back every note exactly
(pitch, start, duration, velocity, program, is_drum) whenever the times are exact ticks.

Lossy corners, all forced by the format: tempos are whole microseconds per quarter note
(``qpm`` comes back within 1e-6 relative); time-signature denominators must be powers of
two (others are written as the nearest power of two) with numerators up to 255; a key in a
mode other than major or minor is written as the major key (ionian, lydian, mixolydian) or
minor key (dorian, phrygian, aeolian, locrian) with the same signature, and keys with more
than 7 sharps or flats as their enharmonic equivalent.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from fractions import Fraction
from typing import BinaryIO

import mido

from musicgen.music.score import Key, Note, Score

BASE_TICKS_PER_BEAT = 480  # divisible by 2, 3, 4, 5, 6, 8, 10, 12, 16, 32
MAX_TICKS_PER_BEAT = 32767  # the header's division is a signed 16-bit number
DRUM_CHANNEL = 9
MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]
_MINOR_LIKE = {"minor", "aeolian", "dorian", "phrygian", "locrian"}
_ON, _OFF, _ZERO_OFF = 1, 0, 2  # event order within one tick


def write_midi(score: Score, path: str | os.PathLike | BinaryIO) -> str | os.PathLike | BinaryIO:
    """Write ``score`` as a Standard MIDI File of type 1.

    Args:
        score: the piece to write.
        path: a file path, or a binary file object opened for writing.

    Returns:
        ``path``, so that ``read_midi(write_midi(score, path))`` reads it back.

    Raises:
        ValueError: a pitch outside 0-127, a program outside 0-127, a tempo that is not
            positive, or a time before 0; none of them can be written to MIDI.
    """
    mid = score_to_midifile(score)
    if hasattr(path, "write"):
        mid.save(file=path)
    else:
        mid.save(filename=os.fspath(path))
    return path


def score_to_midifile(score: Score) -> mido.MidiFile:
    """The :class:`mido.MidiFile` that :func:`write_midi` saves (see the module docstring)."""
    to_tick, tpb = _resolution(score)
    # UTF-8 so that any title can be stored; the reader re-decodes it.
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb, charset="utf-8")
    mid.tracks.append(_conductor_track(score, to_tick))
    parts: dict[tuple[bool, int], list[Note]] = {}
    for note in score.notes:
        parts.setdefault((note.is_drum, note.program), []).append(note)
    channels = _allocate_channels(sorted(parts))
    shared = {ch for ch, parts_on_it in Counter(channels.values()).items() if parts_on_it > 1}
    for part in sorted(parts):
        channel = channels[part]
        for voice in _voices(parts[part], to_tick):
            mid.tracks.append(_part_track(voice, part[1], channel, channel in shared))
    return mid


def _voices(notes: list[Note], to_tick) -> list[list[tuple]]:
    """Split a part's notes, as ``(start, end, pitch, velocity)`` ticks, into tracks.

    A note goes to the first track where its pitch is silent by its start. MIDI cannot say
    which note-off ends which of two overlapping notes of one pitch, but the reader pairs
    within a track, so overlap-free tracks make every note read back as written.
    """
    voices: list[tuple[list[tuple], dict[int, int]]] = []  # (rows, pitch -> tick it ends)
    for note in notes:
        if not 0 <= note.pitch <= 127:
            raise ValueError(f"MIDI pitches are 0-127, got {note.pitch}")
        start = to_tick(note.start)
        row = (start, to_tick(note.start + note.duration), note.pitch, note.velocity)
        voice = next((v for v in voices if v[1].get(note.pitch, start) <= start), None)
        if voice is None:
            voice = ([], {})
            voices.append(voice)
        voice[0].append(row)
        voice[1][note.pitch] = row[1]
    return [rows for rows, _ in voices]


def _resolution(score: Score):
    """``(to_tick, ticks_per_beat)``: exact when the times allow it, else rounded at 480."""
    denominators = {1}
    for note in score.notes:
        denominators.add(_fraction(note.start).denominator)
        denominators.add(_fraction(note.duration).denominator)
    for change in (*score.tempos, *score.time_signatures):
        denominators.add(_fraction(change.start).denominator)
    common = math.lcm(*denominators)
    for tpb in (math.lcm(BASE_TICKS_PER_BEAT, common), common):
        if tpb <= MAX_TICKS_PER_BEAT:
            return _exact_ticks(tpb), tpb
    return _rounded_ticks(BASE_TICKS_PER_BEAT), BASE_TICKS_PER_BEAT


def _exact_ticks(tpb: int):
    def to_tick(time) -> int:
        time = _fraction(time)
        return time.numerator * tpb // time.denominator  # exact: the denominator divides tpb

    return to_tick


def _rounded_ticks(tpb: int):
    def to_tick(time) -> int:
        return round(_fraction(time) * tpb)

    return to_tick


def _fraction(value) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


def _allocate_channels(parts: list[tuple[bool, int]]) -> dict[tuple[bool, int], int]:
    channels = {}
    melodic = 0
    for is_drum, program in parts:
        if is_drum:
            channels[(is_drum, program)] = DRUM_CHANNEL
        else:
            channels[(is_drum, program)] = MELODIC_CHANNELS[melodic % len(MELODIC_CHANNELS)]
            melodic += 1
    return channels


def _part_track(notes: list[tuple], program: int, channel: int, shared: bool):
    """One track of a part: a program change at its start, then its notes in tick order."""
    events = []  # (tick, group, seq, pitch, velocity); seq keeps the score's note order
    for seq, (start, end, pitch, velocity) in enumerate(notes):
        velocity = min(max(int(velocity), 1), 127)  # velocity 0 would mean note-off
        events.append((start, _ON, seq, pitch, velocity))
        events.append((end, _ZERO_OFF if end == start else _OFF, seq, pitch, 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    now = 0
    for tick, group, _, pitch, velocity in events:
        if group == _ON:
            if shared:  # another part on this channel may have changed the program
                track.append(_message("program_change", tick - now, channel, program=program))
                now = tick
            track.append(_message("note_on", tick - now, channel, note=pitch, velocity=velocity))
        else:
            track.append(_message("note_off", tick - now, channel, note=pitch, velocity=0))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _message(kind: str, delta: int, channel: int, **fields) -> mido.Message:
    # Values were range-checked above or come from a Score; skip mido's slow checks.
    return mido.Message(kind, skip_checks=True, channel=channel, time=delta, **fields)


def _conductor_track(score: Score, to_tick) -> mido.MidiTrack:
    events = []  # (tick, seq, message); seq keeps the map order within a tick
    for ts in score.time_signatures:
        numerator = min(max(int(ts.numerator), 1), 255)
        msg = mido.MetaMessage(
            "time_signature", numerator=numerator, denominator=_power_of_two(ts.denominator)
        )
        events.append((to_tick(ts.start), len(events), msg))
    for tempo in score.tempos:
        if not tempo.qpm > 0:
            raise ValueError(f"a tempo must be positive, got {tempo.qpm} qpm")
        microseconds = min(max(round(60e6 / tempo.qpm), 1), 0xFFFFFF)
        events.append((to_tick(tempo.start), len(events), _tempo(microseconds)))
    events.sort(key=lambda e: e[:2])
    track = mido.MidiTrack()
    if score.title:
        # a lone surrogate cannot be stored as UTF-8: it becomes "?" rather than an error
        title = score.title.encode("utf-8", "replace").decode("utf-8")
        track.append(mido.MetaMessage("track_name", name=title, time=0))
    if score.key is not None:
        track.append(mido.MetaMessage("key_signature", key=mido_key_name(score.key), time=0))
    now = 0
    for tick, _, msg in events:
        msg.time = tick - now
        track.append(msg)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _tempo(microseconds: int) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=microseconds)


def _power_of_two(denominator: int) -> int:
    """The power of two nearest ``denominator`` (MIDI stores its log2), 1 to 128."""
    exponent = round(math.log2(max(int(denominator), 1)))
    return 2 ** min(exponent, 7)


def mido_key_name(key: Key) -> str:
    """mido's name for the MIDI key signature of ``key``: ``'D'``, ``'Bm'``, ``'F#m'``.

    Modes other than major and minor become the major or minor key with their signature
    (D dorian → ``'Am'``); more than 7 sharps or flats wrap enharmonically (G# → ``'Ab'``).
    """
    fifths = key.fifths
    while fifths > 7:
        fifths -= 12
    while fifths < -7:
        fifths += 12
    if key.mode in _MINOR_LIKE:
        return _name_on_line_of_fifths(fifths + 3) + "m"
    return _name_on_line_of_fifths(fifths)


def _name_on_line_of_fifths(fifths_from_c: int) -> str:
    """C=0, G=1, F=-1, F#=6, Bb=-2 ..."""
    index = fifths_from_c + 1
    accidentals = index // 7
    return "FCGDAEB"[index % 7] + ("#" * accidentals if accidentals > 0 else "b" * -accidentals)
