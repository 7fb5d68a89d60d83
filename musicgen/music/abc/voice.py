"""The state of one ABC voice while its music lines are read, and how events advance it.

Times here are at the *written* position (repeats are expanded later, see ``repeats.py``),
counted in integer ticks of 1/TICKS quarter note: integer sums are ~10x cheaper than
Fraction sums. TICKS holds every length folk ABC writes (halvings to 1/256, triplets,
quintuplets, septuplets); a length it cannot hold stays an exact Fraction of ticks, so
times are exact either way. Notes are kept as mutable ``[pitch, start, duration]`` lists
so that a tie or a broken rhythm can lengthen a note already placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.music.abc.fields import FieldError, KeySpec
from musicgen.music.abc.parts import PartLabel
from musicgen.music.abc.repeats import Marker
from musicgen.music.abc.tokens import length
from musicgen.music.limits import MAX_NOTE_QUARTERS

ZERO = 0
TICKS = 2**8 * 3**3 * 5**2 * 7  # ticks per quarter note


def to_ticks(quarters: Fraction) -> int | Fraction:
    """Quarter notes to ticks: an int when the grid holds it, else an exact Fraction."""
    ticks = quarters * TICKS
    return ticks.numerator if ticks.denominator == 1 else ticks


class _QuarterCache(dict):
    """Ticks → exact quarter notes; a hit is a plain dict lookup (the values recur)."""

    def __missing__(self, ticks: int | Fraction) -> Fraction:
        if type(ticks) is not int:
            return ticks / TICKS
        if len(self) > 100_000:
            self.clear()
        value = self[ticks] = Fraction(ticks, TICKS)
        return value


to_quarters = _QuarterCache()


@dataclass
class Voice:
    """One voice: its clock, its notes, and what the next notes depend on.

    Attributes:
        unit: the unit note length in quarter notes (``L:1/8`` → 1/2).
        lengths: ticks of each written length (``"2"``, ``"/"``) at this unit: keyed by
            the text alone outside tuplets and broken rhythm (the common case, looked up
            in the scanner without arithmetic), else with the factors that apply.
        meter: the current meter ``(numerator, denominator)`` or None.
        alters: alteration per letter from the key signature.
        bar_alters: accidentals written earlier in this bar (they last to the bar line).
        key_pitches: pitch of each note head written without accidental (``"c'"``,
            ``"F,"``) in this key, for the bars that have no accidental yet.
        ties: notes whose tie ``-`` waits for the next note of the same pitch.
        last: ``(start, duration, notes)`` of the last note/chord, for broken rhythm.
        next_factor: broken-rhythm multiplier for the next note or chord.
        tuplet_left, tuplet_factor: notes still inside a tuplet, and their multiplier.
    """

    unit: Fraction
    meter: tuple[int, int] | None
    alters: dict[str, int]
    time: int | Fraction = ZERO
    lengths: dict[str | tuple, int | Fraction] = field(default_factory=dict)
    notes: list[list] = field(default_factory=list)
    chords: list[tuple[int, str]] = field(default_factory=list)
    meters: list[tuple[int, tuple[int, int]]] = field(default_factory=list)
    tempos: list[tuple[int, float]] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    parts: list[PartLabel] = field(default_factory=list)
    bar_alters: dict = field(default_factory=dict)
    key_pitches: dict[str, int] = field(default_factory=dict)
    ties: dict[int, list] = field(default_factory=dict)
    last: tuple | None = None
    next_factor: Fraction | None = None
    tuplet_left: int = 0
    tuplet_factor: Fraction = Fraction(1)
    tuplet_size: int = 0
    bar_start: int | Fraction = ZERO
    overlay_end: int | Fraction | None = None
    first_bar: int | Fraction | None = None  # time of the first bar line after some music

    def set_key(self, spec: KeySpec) -> None:
        self.alters = spec.alters
        self.bar_alters, self.key_pitches = {}, {}

    def set_unit(self, unit: Fraction) -> None:
        self.unit, self.lengths = unit, {}

    def ticks_of(self, text: str) -> int | Fraction:
        """Ticks of the next note or rest written with length ``text``, consuming broken
        rhythm and tuplet; each length and factors are worked out once per unit.

        Raises:
            FieldError: for a length that is not ABC or too long (see :meth:`duration`).
        """
        tuplet = self.tuplet_factor if self.tuplet_left else None
        key = (
            text
            if self.next_factor is None and tuplet is None
            else (text, self.next_factor, tuplet)
        )
        dur = self.lengths.get(key)
        if dur is None:
            dur = self.lengths[key] = self.duration(length(text))
        else:
            self.next_factor = None
            if tuplet is not None:
                self.tuplet_left -= 1
        return dur

    def duration(self, multiplier: Fraction) -> int | Fraction:
        """Length in ticks of the next event, consuming broken rhythm and tuplet.

        Raises:
            FieldError: for an event longer than ``MAX_NOTE_QUARTERS``.
        """
        dur = self.unit * multiplier
        if self.next_factor is not None:
            dur *= self.next_factor
            self.next_factor = None
        if self.tuplet_left:
            dur *= self.tuplet_factor
            self.tuplet_left -= 1
        if dur > MAX_NOTE_QUARTERS:
            raise FieldError(
                f"a note or rest of {float(dur):g} quarter notes is longer than "
                f"{MAX_NOTE_QUARTERS}, the longest read"
            )
        return to_ticks(dur)

    def place_one(self, pitch: int, dur: int | Fraction, tied: bool) -> None:
        """:meth:`place` for a single note: the hot path, kept free of lists."""
        start = self.time
        note = self.ties.get(pitch) if self.ties else None
        if note is not None and note[1] + note[2] == start:
            note[2] += dur
        else:
            note = [pitch, start, dur]
            self.notes.append(note)
        if tied:
            self.ties = {pitch: note}
        elif self.ties:
            self.ties = {}
        self.last = (start, dur, [note])
        self.time = start + dur

    def place(self, pitches: list[tuple[int, bool]], dur: int | Fraction) -> None:
        """Sound ``pitches`` (each with its tie flag) for ``dur`` from the current time.

        A pitch tied from the previous event and ending exactly here lengthens that note
        instead of starting a new one, so tied notes (across bar lines too) are one note.
        """
        start, ties, new_ties, placed = self.time, self.ties, {}, []
        for pitch, tied in pitches:
            note = ties.get(pitch)
            if note is not None and note[1] + note[2] == start:
                note[2] += dur
            else:
                note = [pitch, start, dur]
                self.notes.append(note)
            placed.append(note)
            if tied:
                new_ties[pitch] = note
        self.ties = new_ties
        self.last = (start, dur, placed)
        self.time = start + dur

    def rest(self, dur: int | Fraction) -> None:
        self.ties = {}
        self.last = (self.time, dur, [])
        self.time += dur

    def tie_last(self) -> None:
        """A ``-`` standing apart from its note (``A -B``, ``[CE]-``) ties the last event."""
        if self.last is not None:
            for note in self.last[2]:
                self.ties[note[0]] = note

    def apply_broken(self, before: Fraction, after: Fraction) -> None:
        """Lengthen or shorten the last event by ``before``; the next one gets ``after``."""
        if self.last is None:
            return
        start, dur, placed = self.last
        num, den = before.numerator - before.denominator, before.denominator  # before - 1
        if type(dur) is int and dur * num % den == 0:  # on the tick grid: no Fraction
            delta = dur * num // den
        else:
            delta = dur * Fraction(num, den)
            if delta.denominator == 1:  # back on the tick grid
                delta = delta.numerator
        for note in placed:
            note[2] += delta
        self.time += delta
        self.last = (start, dur + delta, placed)
        self.next_factor = after

    def unpair_broken(self) -> None:
        """Take back a broken rhythm that no note followed (``G> ||`` ending the tune):
        ABC 2.1 §4.4 shares the time between two notes, and there is no second."""
        if self.next_factor is None or self.last is None:
            return
        start, dur, placed = self.last
        delta = dur - dur / (2 - self.next_factor)  # the first note got 2 - after times
        if delta.denominator == 1:
            delta = delta.numerator
        for note in placed:
            note[2] -= delta
        self.time -= delta
        self.last, self.next_factor = (start, dur - delta, placed), None

    def bar_line(self) -> None:
        """A bar line: accidentals end, and an overlay (``&``) rejoins the voice."""
        if self.bar_alters:
            self.bar_alters = {}
        if self.overlay_end is not None:
            self.time = max(self.time, self.overlay_end)
            self.overlay_end = None
        self.bar_start = self.time
        if self.first_bar is None and self.time > 0:
            self.first_bar = self.time

    def overlay(self) -> None:
        """``&``: the following notes sound from the start of this bar, beside the others."""
        self.overlay_end = max(self.time, self.overlay_end or ZERO)
        self.time = self.bar_start
        self.ties, self.last = {}, None

    def bar_length(self) -> int | Fraction:
        num, den = self.meter or (4, 4)
        return to_ticks(Fraction(4 * num, den))
