"""Expanding repeats, endings and parts into the played order.

The body reader keeps every note once, at its written time, and records the repeat
structure as markers at written times. Expansion turns the markers into the list of
written-time spans in the order they are played; every note whose onset falls in a span
is copied there. So repeats never touch the note reader, and the written order is the
default at no cost.

Where a ``:|`` goes back to (ABC 2.1 §4.8): the latest ``|:``, else the latest ``||`` or
``|]`` or used ``:|`` (the end of a repeated section), else the start of the tune (or of
the part). A ``||`` inside a section opened by ``|:`` is only a bar line there, as
abc2midi plays it, and so is a ``||`` that an ending starts on (``||1``, ``:||[2``).
On pass ``n`` of a section only the endings that name ``n`` play; an ending block lasts
until ``||``, ``|]`` or the next ``|:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

START, END, ENDING, CLOSE = "start", "end", "ending", "close"
_MAX_STEPS = 10_000  # guards against a repeat structure that never finishes


@dataclass(frozen=True, slots=True)
class Marker:
    """A repeat sign at a written time.

    ``kind`` is ``start`` (``|:``), ``end`` (``:|``), ``ending`` (``[1``, ``|2``, ``[1,3``
    with ``numbers``), or ``close`` (``||``, ``|]``: closes the last ending).
    """

    time: Fraction
    kind: str
    numbers: tuple[int, ...] = ()


def _passes(markers: list[Marker], begin: int) -> int:
    """How many times the section starting at marker ``begin`` is played: 2, or more
    when an ending such as ``[3`` names a later pass."""
    most, endings = 2, False
    for marker in markers[begin:]:
        if marker.kind == START or marker.kind == CLOSE and endings:
            break
        if marker.kind == END and not endings:
            break  # a plain repeat: the endings after it belong to the next section
        if marker.kind == ENDING and marker.numbers:
            endings, most = True, max(most, max(marker.numbers))
    return most


def _opens_ending(markers: list[Marker], i: int) -> bool:
    """Whether the double bar ``markers[i]`` is the bar line an ending starts on."""
    after = markers[i + 1] if i + 1 < len(markers) else None
    return after is not None and after.kind == ENDING and after.time == markers[i].time


class _Player:
    """The play head walking the markers; ``spans`` collects what it plays.

    ``block`` is the pass number the current ending block compares its endings with
    (None outside one), and ``block_section`` the section that block belongs to: a
    skipped ending followed by a ``:|`` resumes after it, and a later matching ending
    returns to that section.
    """

    def __init__(self, begin: int | Fraction) -> None:
        self.spans: list[tuple[Fraction, Fraction]] = []
        self.playing, self.seg_start = True, begin
        self.section = (begin, 0, 1)  # (time, marker index after it, pass number)
        self.explicit = False  # the section was opened by |:
        self.block: int | None = None
        self.block_section = self.section

    def resume(self, time: Fraction) -> None:
        if not self.playing:
            self.playing, self.seg_start = True, time

    def pause(self, time: Fraction) -> None:
        if self.playing:
            self.spans.append((self.seg_start, time))
            self.playing = False

    def new_section(self, time: Fraction, index: int, explicit: bool) -> None:
        self.section, self.explicit = (time, index, 1), explicit

    def step(self, markers: list[Marker], i: int) -> int:
        """Act on marker ``i``; return the index of the next marker to visit."""
        m = markers[i]
        if m.kind == START:
            self.resume(m.time)
            self.new_section(m.time, i + 1, True)
            self.block = None
        elif m.kind == ENDING:
            if self.block is None:
                self.block, self.block_section = self.section[2], self.section
            if self.block in m.numbers:
                self.resume(m.time)
                self.section = self.block_section
            else:
                self.pause(m.time)
        elif m.kind == CLOSE:
            if _opens_ending(markers, i):
                pass  # ||1, :||[2: the bar line of an ending, not a restart point
            elif self.block is not None or not self.explicit:
                self.resume(m.time)
                self.new_section(m.time, i + 1, False)
                self.block = None
        elif not self.playing:  # a :| closing a skipped ending: play on after it
            self.resume(m.time)
            self.new_section(m.time, i + 1, False)
        else:
            time, index, pass_no = self.section
            if pass_no < _passes(markers, index):
                self.pause(m.time)
                self.resume(time)
                self.section, self.block = (time, index, pass_no + 1), None
                return index
            self.new_section(m.time, i + 1, False)  # repeated enough: go on
        return i + 1


def played_spans(
    markers: list[Marker], end: int | Fraction, begin: int | Fraction = 0
) -> list[tuple[int | Fraction, int | Fraction]]:
    """Written-time spans ``(start, stop)`` in played order (in the reader's integer
    ticks, so that no Fraction enters the sums that place the copies), for music from ``begin`` to
    ``end`` whose repeat signs are ``markers`` (those between ``begin`` and ``end``).

    Each ``:|`` jumps back to where its section starts (see the module docstring) until
    the section has been played enough times: twice, or as often as its endings name.
    """
    player = _Player(begin)
    i, steps = 0, 0
    while i < len(markers) and steps < _MAX_STEPS:
        i, steps = player.step(markers, i), steps + 1
    player.pause(end)
    return [(a, b) for a, b in player.spans if b > a]
