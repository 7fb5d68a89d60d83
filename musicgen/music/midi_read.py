"""Standard MIDI File → :class:`Score`, built on mido.

mido parses the bytes (running status, sysex, unknown meta events); one pass per track
then turns its messages into notes and maps, with times kept as integer ticks until the
very end, where each distinct tick becomes one cached ``Fraction(tick, ticks_per_beat)``.

Decisions, each a choice a reader of MIDI has to make:

* **Note pairing is FIFO.** A note-off (or note-on with velocity 0) ends the *earliest*
  open note of its pitch on its channel in that track. Files often write a repeated note
  as on(B) before off(A) at the same tick; FIFO still pairs A with its own off, where LIFO
  would make B zero-length and A twice as long. Every onset and offset is kept either way.
* **Zero-length notes** (on and off at one tick) are kept with duration 0. Notes still
  open when a track ends last until the track's last event. Stray note-offs are ignored.
* **Programs** follow merged-stream order, as a player hears them: a note takes the last
  program change on its channel before its note-on, ordered by (tick, track, position),
  so a change in any track applies. Channel 10 (mido channel 9) is ``is_drum``.
* **Tempos** are quarter notes per minute, ``60e6 / microseconds`` rounded to the fewest
  decimals that still write back to the same microseconds (333333 µs reads as 180.0).
* **Maps:** tempo and time-signature events of every track form the maps; of several at
  one tick the last (in merged order) wins. A tempo of 0 µs and time signatures with a
  zero numerator or a denominator above 128 are meaningless and skipped. The key is the
  first key signature; the title the first track name of the first track.
* **Text** is read as Latin-1 (it never fails; test files carry GBK lyrics); the title is
  then re-decoded as UTF-8 when it is valid UTF-8, which is how :func:`write_midi` stores it.
* **SMF type 2** (independent sequences) is read with the tracks one after another.
* **Lenient data bytes:** a file whose only fault is a data byte above 127 (a corrupt
  controller value, e.g. 168) is re-read with mido's ``clip=True`` rather than lost, since
  its notes are intact. Anything else that mido cannot parse, SMPTE time division, an
  unknown SMF type, an empty, truncated or missing file raise :class:`MidiFormatError`
  naming the file. A missing file is a MidiFormatError too, so a corpus loader that skips
  unreadable files needs to catch one type only (the ``OSError`` is its ``__cause__``).
"""

from __future__ import annotations

import io
import os
import struct
from bisect import bisect_left
from fractions import Fraction
from typing import BinaryIO

import mido

from musicgen.music.errors import MidiFormatError
from musicgen.music.limits import MAX_SPAN_QUARTERS
from musicgen.music.score import Key, Note, Score, Tempo, TimeSignature

DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0 as mido does
_MAX_TS_DENOMINATOR = 128


def read_midi(path: str | os.PathLike | BinaryIO) -> Score:
    """Read a Standard MIDI File (type 0, 1 or 2) into a :class:`Score`.

    Args:
        path: a file path, or a binary file object opened for reading.

    Returns:
        The notes (times in exact quarter notes), tempo and time-signature maps, key and
        title of the file.

    Raises:
        MidiFormatError: the file is missing, empty, truncated, corrupt, not MIDI, or uses
            SMPTE time division. The message names the file; ``__cause__`` is mido's error.
    """
    source, data = _load_bytes(path)
    mid = _parse(data, source)
    return _score_from_midifile(mid, source)


def _load_bytes(path: str | os.PathLike | BinaryIO) -> tuple[str, bytes]:
    if hasattr(path, "read"):
        source = str(getattr(path, "name", "<file object>"))
        try:
            return source, path.read()
        except OSError as err:
            raise MidiFormatError(f"cannot read file object: {err}", source) from err
    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            return str(source), f.read()
    except OSError as err:
        raise MidiFormatError(f"cannot open file: {err.strerror or err}", str(source)) from err


def _parse(data: bytes, source: str) -> mido.MidiFile:
    if not data:
        raise MidiFormatError("empty file, not a Standard MIDI File", source)
    _check_chunks(data, source)
    try:
        # Reading from memory: mido reads one byte per call, far cheaper on BytesIO.
        mid = mido.MidiFile(file=io.BytesIO(data))
    except OSError as strict:  # mido's report for bad bytes; maybe only data bytes > 127
        try:
            mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
        except Exception as lenient:
            message = _describe(strict)
            if str(lenient) != str(strict):  # clipping got further, then failed elsewhere
                message += f"; with data bytes clipped: {_describe(lenient)}"
            raise MidiFormatError(message, source) from strict
    except Exception as err:  # mido raises EOFError, KeyError, ValueError ... on bad bytes
        raise MidiFormatError(_describe(err), source) from err
    if mid.ticks_per_beat <= 0:
        raise MidiFormatError(
            f"SMPTE time division (header division {mid.ticks_per_beat}) is not supported; "
            "only ticks per quarter note",
            source,
        )
    if mid.type not in (0, 1, 2):
        raise MidiFormatError(f"unknown Standard MIDI File type {mid.type}", source)
    return mid


def _check_chunks(data: bytes, source: str) -> None:
    """What mido lets through silently: a track count it reads as a negative number
    (>= 0x8000), a track chunk of length 0 followed by events rather than by the next
    chunk (mido would skip them as an unknown chunk), and track chunks beyond the header's
    count (never read either).
    A file without an ``MThd`` header is left to mido to report.
    """
    if data[:4] != b"MThd" or len(data) < 14:
        return
    header_size, _, declared, _ = struct.unpack(">LHHH", data[4:14])
    if declared >= 0x8000:
        raise MidiFormatError(f"header declares {declared} tracks, more than a file holds", source)
    pos, found = 8 + header_size, 0
    while pos + 8 <= len(data):  # each chunk is at least 8 bytes: at most len/8 rounds
        kind, size = struct.unpack(">4sL", data[pos : pos + 8])
        if kind == b"MTrk":
            found += 1
            follows = data[pos + 8 : pos + 12]
            # an empty track is legal (abc2midi writes them); one whose events follow it is
            # a corrupt length, and mido would skip those events as an unknown chunk
            if size == 0 and found <= declared and follows not in (b"", b"MTrk"):
                raise MidiFormatError(
                    f"track {found} has length 0 but its events follow (a corrupt length)",
                    source,
                )
        pos += 8 + size
    if found > declared:
        raise MidiFormatError(
            f"header declares {declared} tracks but the file holds {found} track chunks", source
        )


def _describe(err: BaseException) -> str:
    if isinstance(err, EOFError):
        return "truncated or corrupt Standard MIDI File (unexpected end of data)"
    return f"not a readable Standard MIDI File ({type(err).__name__}: {err})"


class _Events:
    """What the per-track passes collect, all times in integer ticks.

    ``notes`` rows are ``(start, end, pitch, velocity, channel, order)`` where ``order`` is
    the note-on's place in the merged stream, ``(tick, track, index)``; maps hold
    ``(order, value)`` rows.
    """

    def __init__(self) -> None:
        self.notes: list[tuple] = []
        self.programs: dict[int, list[tuple]] = {}
        self.tempos: list[tuple] = []
        self.meters: list[tuple] = []
        self.keys: list[tuple] = []


def _read_track(track: mido.MidiTrack, number: int, offset: int, ev: _Events) -> int:
    """One pass over a track; returns the tick of its last event."""
    tick = offset
    open_notes: dict[int, list[tuple]] = {}  # (channel << 7 | pitch) -> [(start, vel, order)]
    notes_append = ev.notes.append
    for index, msg in enumerate(track):
        tick += msg.time
        kind = msg.type
        if kind == "note_on" or kind == "note_off":
            slot = msg.channel << 7 | msg.note
            if kind == "note_on" and msg.velocity:
                open_notes.setdefault(slot, []).append((tick, msg.velocity, (tick, number, index)))
                continue
            queue = open_notes.get(slot)
            if queue:  # FIFO: the off ends the earliest open note (see module docstring)
                start, velocity, order = queue.pop(0)
                notes_append((start, tick, slot & 127, velocity, slot >> 7, order))
        elif kind == "program_change":
            ev.programs.setdefault(msg.channel, []).append(((tick, number, index), msg.program))
        elif kind == "set_tempo":
            ev.tempos.append(((tick, number, index), msg.tempo))
        elif kind == "time_signature":
            ev.meters.append(((tick, number, index), (msg.numerator, msg.denominator)))
        elif kind == "key_signature":
            ev.keys.append(((tick, number, index), msg.key))
    for slot, queue in open_notes.items():  # still sounding at the end of the track
        for start, velocity, order in queue:
            notes_append((start, tick, slot & 127, velocity, slot >> 7, order))
    return tick


def _score_from_midifile(mid: mido.MidiFile, source: str) -> Score:
    ev = _Events()
    offset = 0
    for number, track in enumerate(mid.tracks):
        end = _read_track(track, number, offset, ev)
        if mid.type == 2:  # independent sequences, played one after another
            offset = end
    last = max((row[1] for row in ev.notes), default=0)
    if last > MAX_SPAN_QUARTERS * mid.ticks_per_beat:
        raise MidiFormatError(
            f"notes run to {last / mid.ticks_per_beat:g} quarter notes, more than "
            f"{MAX_SPAN_QUARTERS}, the longest read",
            source,
        )
    frac = _FractionCache(mid.ticks_per_beat)
    score = Score(
        time_signatures=[
            TimeSignature(frac(tick), num, den)
            for tick, (num, den) in _last_per_tick(ev.meters)
            if num > 0 and den <= _MAX_TS_DENOMINATOR
        ],
        tempos=[Tempo(frac(tick), _qpm(us)) for tick, us in _last_per_tick(ev.tempos) if us > 0],
        key=_key_from_mido(min(ev.keys)[1]) if ev.keys else None,
        title=_title(mid),
    )
    # Set after construction: the notes are already in Score's order, and re-sorting
    # them by Fraction keys would cost a quarter of the reader's own time.
    score.notes = _build_notes(ev, frac)
    return score


class _FractionCache:
    """``Fraction(tick, ticks_per_beat)``, built once per distinct tick."""

    def __init__(self, ticks_per_beat: int) -> None:
        self.tpb = ticks_per_beat
        self.cache: dict[int, Fraction] = {}

    def __call__(self, tick: int) -> Fraction:
        value = self.cache.get(tick)
        if value is None:
            value = self.cache[tick] = Fraction(tick, self.tpb)
        return value

    def fill(self, ticks) -> dict[int, Fraction]:
        """The cache, holding every tick of ``ticks``."""
        cache, tpb = self.cache, self.tpb
        for tick in ticks:
            if tick not in cache:
                cache[tick] = Fraction(tick, tpb)
        return cache


def _build_notes(ev: _Events, frac: _FractionCache) -> list[Note]:
    """Notes in Score order: ``(start, pitch, duration, program, is_drum, velocity)``."""
    programs = {ch: sorted(rows) for ch, rows in ev.programs.items()}
    rows = []
    for start, end, pitch, velocity, channel, order in ev.notes:
        changes = programs.get(channel)
        program = _program_at(changes, order) if changes else 0
        rows.append((start, pitch, end - start, program, channel == DRUM_CHANNEL, velocity))
    # Integer ticks sort exactly as the Fractions they stand for would.
    rows.sort()
    fr = frac.fill({row[0] for row in rows} | {row[2] for row in rows})
    return [Note(p, fr[s], fr[d], v, prog, drum) for s, p, d, prog, drum, v in rows]


def _program_at(changes: list[tuple], order: tuple) -> int:
    """The program of the last change strictly before ``order`` in the merged stream."""
    if len(changes) == 1:
        return changes[0][1] if changes[0][0] < order else 0
    i = bisect_left(changes, (order,))
    return changes[i - 1][1] if i else 0


def _last_per_tick(rows: list[tuple]) -> list[tuple]:
    """``(tick, value)`` in merged-stream order, keeping the last event of each tick."""
    out: list[tuple] = []
    for (tick, _, _), value in sorted(rows):
        if out and out[-1][0] == tick:
            out[-1] = (tick, value)
        else:
            out.append((tick, value))
    return out


def _qpm(microseconds: int) -> float:
    """Quarter notes per minute of a MIDI tempo, the roundest value that writes back to it.

    MIDI stores whole microseconds per quarter, so 180 qpm is saved as 333333 µs, which is
    180.00018 qpm; any qpm that rounds to the same microseconds is the same tempo, so the
    one with the fewest decimals is returned (180.0) and writing it gives 333333 again.
    """
    qpm = 60e6 / microseconds
    for decimals in range(4):
        rounded = round(qpm, decimals)
        if rounded > 0 and round(60e6 / rounded) == microseconds:
            return rounded
    return qpm


def _key_from_mido(name: str) -> Key:
    """mido's ``'D'``, ``'Bm'``, ``'F#m'`` → ``Key('D', 'major')``, ``Key('B', 'minor')``."""
    if name.endswith("m"):
        return Key(name[:-1], "minor")
    return Key(name, "major")


def _title(mid: mido.MidiFile) -> str:
    if not mid.tracks:
        return ""
    for msg in mid.tracks[0]:
        if msg.type == "track_name":
            name = msg.name.rstrip("\x00")  # some writers pad names with NULs
            try:  # mido decoded Latin-1; write_midi stores UTF-8
                return name.encode("latin-1").decode("utf-8")
            except UnicodeError:
                return name
    return ""
