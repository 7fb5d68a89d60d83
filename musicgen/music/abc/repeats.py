"""Expanding repeats and endings into the played order.

The body reader keeps every note once, at its written time, and records the repeat
structure as markers at written times. Expansion turns the markers into the list of
written-time spans in the order they are played; every note whose onset falls in a span
is copied there. So repeats never touch the note reader, and the written order is the
default at no cost.
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
    most = 2
    for marker in markers[begin:]:
        if marker.kind == START:
            break
        if marker.kind == ENDING and marker.numbers:
            most = max(most, max(marker.numbers))
    return most


class _Player:
    """The play head walking the markers; ``spans`` collects what it plays."""

    def __init__(self) -> None:
        self.spans: list[tuple[Fraction, Fraction]] = []
        self.jumps: dict[int, int] = {}
        self.playing, self.seg_start = True, Fraction(0)
        self.sec_time, self.sec_index, self.pass_no = Fraction(0), 0, 1
        self.in_ending = False

    def resume(self, time: Fraction) -> None:
        if not self.playing:
            self.playing, self.seg_start = True, time

    def pause(self, time: Fraction) -> None:
        if self.playing:
            self.spans.append((self.seg_start, time))
            self.playing = False

    def step(self, markers: list[Marker], i: int) -> int:
        """Act on marker ``i``; return the index of the next marker to visit."""
        m = markers[i]
        if m.kind == START:
            self.resume(m.time)
            self.sec_time, self.sec_index, self.pass_no = m.time, i + 1, 1
            self.in_ending = False
        elif m.kind == ENDING:
            self.in_ending = True
            if self.pass_no in m.numbers:
                self.resume(m.time)
            else:
                self.pause(m.time)
        elif m.kind == CLOSE:
            self.resume(m.time)
            if self.in_ending:  # the last ending is over: a new section starts
                self.pass_no, self.in_ending = 1, False
        elif self.playing and self.jumps.get(i, 0) + 1 < _passes(markers, self.sec_index):
            self.jumps[i] = self.jumps.get(i, 0) + 1
            self.pause(m.time)
            self.resume(self.sec_time)
            self.pass_no, self.in_ending = self.jumps[i] + 1, False
            return self.sec_index
        else:  # a :| already repeated: go on; the next section starts here
            self.resume(m.time)
            self.sec_time, self.sec_index = m.time, i + 1
        return i + 1


def played_spans(markers: list[Marker], end: Fraction) -> list[tuple[Fraction, Fraction]]:
    """Written-time spans ``(start, stop)`` in played order, for a voice ending at ``end``.

    Each ``:|`` jumps back to the last ``|:`` (or the last used ``:|``, or the start)
    until its section has been played enough times; on pass ``n`` only the endings that
    name ``n`` are played.
    """
    player = _Player()
    i, steps = 0, 0
    while i < len(markers) and steps < _MAX_STEPS:
        i, steps = player.step(markers, i), steps + 1
    player.pause(end)
    return [(a, b) for a, b in player.spans if b > a]
