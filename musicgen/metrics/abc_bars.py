"""The bars of an ABC tune as written: the lengths between its bar lines.

A :class:`~musicgen.music.Score` keeps no bar lines, so a written bar one eighth short
(``ABcd efga|ABcd efg|ABcd efga|``) is invisible in it: the later notes just start an
eighth earlier. Here the tune's text goes through the project's own ABC body reader
(:class:`~musicgen.music.abc.body.BodyReader`, so lengths, tuplets, broken rhythm, chords
and inline fields count exactly as in :func:`~musicgen.music.read_abc`), one bar at a
time, and the reader's clock is read at every bar line of the first voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from musicgen.metrics.bars import Bar
from musicgen.music.abc import tokens as tk
from musicgen.music.abc.body import BodyReader
from musicgen.music.abc.fields import FieldError, parse_key, parse_meter, parse_unit
from musicgen.music.abc.voice import TICKS, Voice

_SECTION_BARS = ("||", "|]", "[|", "[|]")


@dataclass
class _Line:
    """A bar line of the first voice: when, under which meter the bar it closes was, whether
    it bounds a section, and whether that bar held a multi-bar rest (``Z4``)."""

    time: Fraction
    meter: tuple[int, int] | None
    section: bool
    multi_rest: bool = False


def _is_section(bar: str, numbered: bool) -> bool:
    """A repeat sign (``|:``, ``:|``, ``::``), a double or final bar line, or an ending."""
    return numbered or ":" in bar or bar.rstrip("0123456789,-") in _SECTION_BARS


def _read_header(lines: list[str]) -> tuple[BodyReader, int] | None:
    """The body reader set up from the header (M:, L:, K:), and the first body line."""
    meter, unit = None, None
    for number, line in enumerate(lines):
        letter, colon, value = line.partition(":")
        if not colon or len(letter) != 1:
            continue
        if letter == "M":
            meter = parse_meter(value)
        elif letter == "L":
            unit = parse_unit(value)
        elif letter == "K":
            # accidentals do not change lengths; the reader's default keeps it one reader
            return BodyReader(parse_key(value), meter, unit), number + 1
    return None


class _BarScanner:
    """Feeds music lines to the reader one bar at a time, noting each first-voice bar line."""

    def __init__(self, reader: BodyReader) -> None:
        self.reader, self.first = reader, reader.voice
        self.found: list[_Line] = []
        self.moved = False  # music since the last bar line
        self.multi_rest = False

    def music_line(self, line: str) -> None:
        """Read one music line (comments stripped).

        Raises:
            FieldError: at the first thing that is not ABC music.
        """
        pos = start = 0
        while pos < len(line):
            m = tk.TOKEN.match(line, pos)
            if m is None:
                raise FieldError(f"cannot read {line[pos : pos + 12]!r}")
            pos, kind = m.end(), m.lastgroup
            if kind in ("note", "rest", "chord", "mrest"):
                self.moved = True
                self.multi_rest = self.multi_rest or kind == "mrest"
            elif kind == "ending":
                self.section_break()  # "| [2": the ending marks the bar line before it
            elif kind == "bar":
                self.reader.music_line(line[start:pos])
                start = pos
                self._bar_line(m.group("bar"), bool(m.group("bnum")))
            elif kind == "end":
                break
        self.reader.music_line(line[start:])

    def section_break(self) -> None:
        """An ending (``[2``) or a part label (``P:B``): the last bar line, when no music
        came after it, bounds a section."""
        if self.found and not self.moved:
            self.found[-1].section = True

    def _bar_line(self, bar: str, numbered: bool) -> None:
        if self.reader.voice is self.first:
            now = _now(self.first)
            section = _is_section(bar, numbered)
            if self.found and self.found[-1].time == now:  # "|| |:": one bar line
                self.found[-1].section = self.found[-1].section or section
            else:
                self.found.append(_Line(now, self.first.meter, section, self.multi_rest))
        self.moved = self.multi_rest = False


def _now(voice: Voice) -> Fraction:
    return Fraction(voice.time) / TICKS


def _bar_lines(text: str) -> tuple[list[_Line], Voice] | None:
    """Every bar line of the first voice, and that voice at the end of the tune."""
    lines = text.split("\n")
    header = _read_header(lines)
    if header is None:
        return None
    reader, body = header
    scanner = _BarScanner(reader)
    for line in lines[body:]:
        if not line.strip():
            if scanner.first.notes or scanner.first.time:
                break  # a blank line ends the tune (ABC 2.1 2.2)
            continue
        if line.startswith("%"):
            continue
        letter, colon, value = line.partition(":")
        if colon and len(letter) == 1 and letter.isalpha():
            reader.field(letter, value)
            if letter == "P":
                scanner.section_break()
            continue
        scanner.music_line(line.split("%", 1)[0])
    return scanner.found, scanner.first


def written_bars(text: str) -> list[Bar]:
    """The written bars of one ABC tune (first voice), to pass to ``bar_correctness``.

    Definition: a bar is the music between two bar lines as written (before repeats are
    expanded); its ``length`` is the time the reader's clock moves across it, notes and
    rests alike, and ``expected`` is the bar length of the meter in force at its closing
    bar line. A bar may be short (``may_be_short``: judged only on not being over-full)
    when it starts or ends the tune or touches a section bar line: a repeat sign
    (``|:``, ``:|``, ``::``), ``||``, ``|]``, ``[|``, an ending (``|1``, ``[2``) or a bar
    line followed by a part label (``P:B``). That is where musicians write the pickup,
    the bar that completes it before a repeat, and first and second endings. Every other
    bar must be exactly one bar of its meter. Bars of no length (two bar lines together)
    are skipped; so are bars without a meter (``M:none``, or no ``M:`` field: free
    meter in ABC) and bars holding a multi-bar rest ``Z``.

    Args:
        text: one tune, header (``X:`` … ``K:``) and body; the defaults of a tune book's
            file header are not applied.

    Returns:
        The bars in written order; ``[]`` for text the ABC reader cannot read (such a
        tune is already counted as invalid by ``valid_rate``).
    """
    try:
        found = _bar_lines(text)
    except (FieldError, ValueError, ArithmeticError):
        return []
    if found is None:
        return []
    lines, voice = found
    end = max([_now(voice)] + [Fraction(n[1] + n[2]) / TICKS for n in voice.notes])
    if not lines or lines[-1].time < end:
        lines.append(_Line(end, voice.meter, True))
    lines[-1].section = True  # the end of the tune
    bars, start, after_section = [], Fraction(0), True  # the start of the tune
    for line in lines:
        if line.time > start and line.meter is not None and not line.multi_rest:
            expected = Fraction(4 * line.meter[0], line.meter[1])
            partial = after_section or line.section
            bars.append(Bar(start, line.time - start, expected, partial))
        # a bar line at the very start ("|B/c/|...") is still the start of the tune
        after_section = line.section or (after_section and line.time == start)
        start = line.time
    return bars
