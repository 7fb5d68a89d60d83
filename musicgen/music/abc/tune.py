"""One tune's text to a :class:`Score`: the header, the body, then notes in time order."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from operator import attrgetter, itemgetter

from musicgen.music.abc.body import DEFAULT_PROPAGATE, BodyReader
from musicgen.music.abc.fields import (
    FieldError,
    KeySpec,
    default_unit,
    parse_key,
    parse_meter,
    parse_tempo,
    parse_unit,
)
from musicgen.music.abc.parts import part_order, part_spans
from musicgen.music.abc.repeats import played_spans
from musicgen.music.abc.source import AbcTuneText
from musicgen.music.abc.voice import TICKS, Voice, to_quarters
from musicgen.music.errors import AbcParseError
from musicgen.music.limits import MAX_NOTES_PER_TUNE, MAX_SPAN_QUARTERS, MAX_TUNE_CHARS
from musicgen.music.score import ChordSymbol, Note, Score, Tempo, TimeSignature
from musicgen.music.timeline import DEFAULT_QPM

_FIELD_LINE = re.compile(r"([A-Za-z+]):(.*)$")
_TONIC = re.compile(r"\s*([A-G][#b]?)")
_PROPAGATE = re.compile(r"%%propagate-accidentals\s+(not|octave|pitch)\b")
_ZERO = Fraction(0)
_START = itemgetter(0)  # a (start, value) event by start
_BY_TIME = itemgetter(1, 0, 2)  # a note [pitch, start, duration] by (start, pitch, duration)
_NOTE_ORDER = attrgetter("start", "pitch", "duration")
_TOO_MANY_COPIES = (
    f"repeats expand to more than {MAX_NOTES_PER_TUNE} notes or events, the most read"
)


@dataclass
class _Header:
    """What the header (``X:`` to ``K:``) says; file-header fields are the defaults."""

    title: str = ""
    meter: tuple[int, int] | None = None
    unit: Fraction | None = None
    tempo: str | None = None
    voices: list[str] = field(default_factory=list)
    propagate: str = DEFAULT_PROPAGATE
    parts: list[str] | None = None

    def read(self, letter: str, value: str) -> None:
        if letter == "T" and not self.title:
            self.title = value.strip()
        elif letter == "M":
            self.meter = parse_meter(value)
        elif letter == "L":
            self.unit = parse_unit(value)
        elif letter == "Q":
            self.tempo = value
        elif letter == "P":
            self.parts = part_order(value)
        elif letter == "V" and value.split():
            self.voices.append(value.split()[0])

    def directive(self, line: str) -> None:
        m = _PROPAGATE.match(line)
        if m:
            self.propagate = m.group(1)


def file_defaults(header_text: str) -> _Header:
    """Defaults that an ABC 2.1 file header (text before the first ``X:``) sets."""
    header = _Header()
    for line in header_text.split("\n"):
        m = _FIELD_LINE.match(line)
        if line.startswith("%%"):
            header.directive(line)
        elif m and m.group(1) in "MLQ":
            try:
                header.read(m.group(1), m.group(2))
            except FieldError:
                continue  # a bad default is not any one tune's fault
    return header


def read_tune(
    tune: AbcTuneText,
    source: str,
    defaults: _Header | None = None,
    expand_repeats: bool = False,
    warnings: list[AbcParseError] | None = None,
) -> Score:
    """Read one tune.

    Args:
        warnings: where to record what was dropped to read on (a token, a field, the
            mode of a key), one :class:`AbcParseError` each, naming the line and column.
            None reads strictly: the first problem raises.

    Raises:
        AbcParseError: naming ``source``, the tune and the line of the first problem
            (with ``warnings``, only for a tune that has no music to read: no ``K:``), or
            the tune's ``X:`` line when the whole tune is past a limit of
            :mod:`musicgen.music.limits` (size, notes, span).
    """
    if len(tune.text) > MAX_TUNE_CHARS:
        message = f"tune of {len(tune.text)} characters is longer than {MAX_TUNE_CHARS}"
        raise AbcParseError(message, source, tune.label, tune.line)
    lines = tune.text.split("\n")
    header = _Header(**{**vars(defaults or _Header()), "voices": []})
    here = [0]  # the line being read, for the error

    def warn(message: str, column: int | None = None) -> None:
        where = f" (column {column})" if column is not None else ""
        text = message if "(column" in message else message + where
        warnings.append(AbcParseError(text, source, tune.label, tune.line + here[0]))

    try:
        reader = _read_lines(lines, header, here, None if warnings is None else warn)
    except FieldError as exc:
        raise AbcParseError(str(exc), source, tune.label, tune.line + here[0]) from None
    try:
        return _score(reader, header, expand_repeats)
    except FieldError as exc:  # a limit of the whole tune, or its header's Q:
        raise AbcParseError(str(exc), source, tune.label, tune.line) from None


def _read_lines(lines: list[str], header: _Header, here: list[int], warn) -> BodyReader:
    """Read the header and body lines; ``here[0]`` follows the line being read."""
    reader, last = None, 0
    for number, line in enumerate(lines):
        here[0] = number
        try:
            if reader is None:
                reader = _header_line(header, line, warn)
            elif not _body_line(reader, header, line):
                break
        except FieldError as exc:
            if warn is None or reader is None and not _FIELD_LINE.match(line):
                raise
            warn(f"{exc}; field dropped")  # a bad field costs that field
        if reader is not None and reader.problems:
            for column, message in reader.problems:
                warn(message, column)
            reader.problems.clear()
        last = number if line.strip() else last
    here[0] = last
    if reader is None:
        raise FieldError("tune has no K: field")
    for voice in reader.voices.values():
        voice.unpair_broken()
        if voice.tuplet_left and voice.tuplet_left == voice.tuplet_size:
            if warn is None:
                raise FieldError("tuplet with no notes after it")
            warn("tuplet with no notes after it; dropped")
    return reader


def _header_line(header: _Header, line: str, warn=None) -> BodyReader | None:
    """Read a header line; return the body reader once ``K:`` ends the header."""
    if line.startswith("%"):
        header.directive(line)
        return None
    m = _FIELD_LINE.match(line)
    if m is None:
        if line.strip():
            raise FieldError("music before the K: field (a tune needs K: to end its header)")
        return None
    if m.group(1) != "K":
        header.read(m.group(1), m.group(2))
        return None
    reader = BodyReader(_key(m.group(2), warn), header.meter, header.unit, header.propagate)
    reader.recover = warn is not None
    if header.voices:
        reader.declare_voice(header.voices[0])
    return reader


def _key(value: str, warn) -> KeySpec:
    """The header's key; when recovering, a key whose mode is not ABC (``K:Bn``) keeps
    its tonic and is read as major."""
    try:
        return parse_key(value)
    except FieldError as exc:
        tonic = _TONIC.match(value)
        if warn is None or tonic is None:
            raise
        warn(f"{exc}; read as {tonic.group(1)} major")
        return parse_key(tonic.group(1))


def _body_line(reader: BodyReader, header: _Header, line: str) -> bool:
    """Read a body line; False at the blank line that ends the tune (ABC 2.1 2.2)."""
    if not line.strip():
        return not any(v.notes or v.time for v in reader.voices.values())
    if line.startswith("%"):
        header.directive(line)
        reader.propagate = header.propagate
        return True
    m = _FIELD_LINE.match(line)
    if m is not None:
        reader.field(m.group(1), m.group(2))
        return True
    cut = line.find("%")
    reader.music_line(line if cut < 0 else line[:cut])
    return True


def _score(reader: BodyReader, header: _Header, expand_repeats: bool) -> Score:
    """Merge the voices into one Score (each voice from time 0)."""
    voices, chords, meters, tempos = [], [], [], []
    q = to_quarters
    for index, voice in enumerate(reader.voices.values()):
        spans = _spans(voice, expand_repeats, header.parts)
        played, end = _played_notes(voice.notes, spans)
        _check_span(max(voice.time, end))
        voices.append(played)
        chords += _remap(voice.chords, spans)
        if index == 0:
            meters = [TimeSignature(q[s], *m) for s, m in _remap(voice.meters, spans)]
        tempos += [Tempo(q[s], qpm) for s, qpm in _remap(voice.tempos, spans)]
    # voices sound together: merged into one time order (Score's, as all else is equal)
    notes = voices[0] if len(voices) == 1 else sorted(chain(*voices), key=_NOTE_ORDER)
    chords.sort(key=_START)  # stable: chord symbols at one time keep the written order
    chords = [ChordSymbol(q[s], text) for s, text in chords]
    if len(notes) > MAX_NOTES_PER_TUNE:
        raise FieldError(f"tune has {len(notes)} notes, more than {MAX_NOTES_PER_TUNE}")
    if header.meter is not None and not any(ts.start == 0 for ts in meters):
        meters.insert(0, TimeSignature(_ZERO, *header.meter))
    unit = header.unit or default_unit(header.meter)
    qpm = parse_tempo(header.tempo, unit) if header.tempo else None
    if not any(t.start == 0 for t in tempos):
        tempos.insert(0, Tempo(_ZERO, qpm if qpm is not None else DEFAULT_QPM))
    meters = _dedupe(meters)
    score = Score(
        notes=[],  # given below, already in Score's order: sorted on ticks, not Fractions
        time_signatures=meters,
        tempos=tempos,
        key=reader.key.key,
        title=header.title,
        chord_symbols=[],
        pickup=_pickup(next(iter(reader.voices.values()), None), meters),
    )
    score.notes, score.chord_symbols = notes, chords
    return score


def _pickup(voice: Voice | None, meters: list[TimeSignature]) -> Fraction:
    """The anacrusis: music before a first bar line that comes less than a bar in."""
    if voice is None or voice.first_bar is None or not meters or meters[0].start != 0:
        return _ZERO
    first = to_quarters[voice.first_bar]
    return first if first < meters[0].bar_length else _ZERO


def _spans(voice: Voice, expand: bool, order: list[str] | None) -> list[tuple] | None:
    """The played order of a voice's written time, or None to keep the written order."""
    by_parts = order is not None and voice.parts
    if not expand or not (voice.markers or by_parts):
        return None
    end = max([voice.time] + [n[1] + n[2] for n in voice.notes])
    _check_span(end)
    if by_parts:
        return part_spans(voice.markers, voice.parts, order, end)
    return played_spans(voice.markers, end)


def _check_span(end_ticks: int | Fraction) -> None:
    if end_ticks > MAX_SPAN_QUARTERS * TICKS:
        raise FieldError(
            f"tune spans {float(end_ticks / TICKS):g} quarter notes, more than "
            f"{MAX_SPAN_QUARTERS}, the longest read"
        )


def _played_notes(notes: list, spans: list[tuple] | None) -> tuple[list[Note], int | Fraction]:
    """A voice's notes ``[pitch, start, duration]`` (ticks) as Notes in Score's order, each
    copied into every played span that holds its start (all once in written order when
    ``spans`` is None); and the latest end among them in ticks (0 for none).

    Sorted once on ticks (exact, and far cheaper than on Fractions); the spans follow one
    another in played time, so the copies come out in order too and need no second sort.

    Raises:
        FieldError: when more than ``MAX_NOTES_PER_TUNE`` copies would be made.
    """
    q, written = to_quarters, sorted(notes, key=_BY_TIME)
    ends = [s + d for _, s, d in written]
    if spans is None:
        return [Note(p, q[s], q[d]) for p, s, d in written], max(ends, default=0)
    starts = [n[1] for n in written]
    out, end, played = [], 0, 0
    for lo, hi in spans:
        i, j, shift = bisect_left(starts, lo), bisect_left(starts, hi), played - lo
        if i < j:
            out += [Note(p, q[s + shift], q[d]) for p, s, d in written[i:j]]
            end = max(end, max(ends[i:j]) + shift)
        if len(out) > MAX_NOTES_PER_TUNE:
            raise FieldError(_TOO_MANY_COPIES)
        played += hi - lo
    return out, end


def _remap(items: list[tuple], spans: list[tuple] | None) -> list[tuple]:
    """Copy each ``(start, value)`` item into every played span that holds its start,
    moved to the span's played time.

    Raises:
        FieldError: when more than ``MAX_NOTES_PER_TUNE`` copies would be made.
    """
    if spans is None:
        return items
    # sorted by start (stable), so each span's items are one slice: spans x items would
    # be quadratic on a repeat structure that plays thousands of spans
    order = sorted(items, key=_START)
    starts = [start for start, _ in order]
    out, played = [], 0
    for lo, hi in spans:
        shift = played - lo
        out += [(s + shift, v) for s, v in order[bisect_left(starts, lo) : bisect_left(starts, hi)]]
        if len(out) > MAX_NOTES_PER_TUNE:
            raise FieldError(_TOO_MANY_COPIES)
        played += hi - lo
    return out


def _dedupe(meters: list[TimeSignature]) -> list[TimeSignature]:
    """Drop repeated time signatures that change nothing (and keep the last at one time)."""
    by_start = {ts.start: ts for ts in sorted(meters, key=lambda t: t.start)}
    out: list[TimeSignature] = []
    for ts in by_start.values():
        if not out or (out[-1].numerator, out[-1].denominator) != (ts.numerator, ts.denominator):
            out.append(ts)
    return out
