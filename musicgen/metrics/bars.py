"""Bar correctness: does each bar hold exactly one bar of the meter in force?

One judge (:func:`bar_correctness`) and two ways to find the bars:

* :func:`grid_bars` for any :class:`Score` (note-token output, MIDI): the meter's bar grid
  (from ``score.pickup``, as :func:`musicgen.music.render.bar_lines` lays it), and the content
  of a bar is how much of it the melodic line fills. A Score has no rests, so a bar one
  eighth short (note tokens ``Bar``, seven eighths, ``Bar``) shows as an eighth of the bar
  that no note fills, and an over-full bar as notes of the line that overlap.
* :func:`musicgen.metrics.abc_bars.written_bars` for ABC text (char-level output): the bars
  between the bar lines as written, whose lengths a Score cannot recover (an ABC bar one
  eighth short just moves every later note an eighth earlier).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from musicgen.music.score import Note, Score
from musicgen.music.timeline import bar_lines


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar as found in a piece, ready to be judged.

    Attributes:
        start: where the bar begins, in quarter notes.
        length: how much music the bar holds, in quarter notes (its written length for
            ABC; the time its melodic line fills for a Score, see :func:`grid_bars`).
        expected: the bar length of the meter in force, in quarter notes.
        may_be_short: a partial bar by musicians' convention (a pickup, the final bar, a
            bar next to a repeat sign or double bar line): judged only on not being
            over-full.
    """

    start: Fraction
    length: Fraction
    expected: Fraction
    may_be_short: bool = False

    @property
    def correct(self) -> bool:
        """``length == expected``; a partial bar only needs ``0 < length <= expected``."""
        if self.may_be_short:
            return 0 < self.length <= self.expected
        return self.length == self.expected


def melodic_line(notes: Iterable[Note]) -> list[Note]:
    """The top line ("skyline"): at each onset, the highest pitched note starting there.

    Drums are left out. A chord or a second voice below the tune adds nothing to the line.
    """
    line: dict[Fraction, Note] = {}
    for n in notes:
        if n.is_drum:
            continue
        top = line.get(n.start)
        if top is None or (n.pitch, n.duration) > (top.pitch, top.duration):
            line[n.start] = n
    return [line[t] for t in sorted(line)]


def bar_spans(score: Score, last: Fraction) -> list[tuple[Fraction, Fraction]]:
    """``(start, end)`` of the bars of the grid from time 0 to the bar that holds ``last``.

    With an upbeat (``score.pickup > 0``) the first span is the pickup bar ``[0, pickup)``;
    then bars follow the meter in force, a meter change starting a new bar.
    """
    spans: list[tuple[Fraction, Fraction]] = []
    previous = Fraction(0)
    for line in bar_lines(score):
        if line > previous:
            spans.append((previous, line))
        if line > last:
            break
        previous = line
    return spans


def grid_bars(score: Score) -> list[Bar]:
    """The bars of ``score`` on its meter's grid, each with the time its line fills.

    Definition: the line is :func:`melodic_line`. A bar's ``length`` is the sum, over the
    notes of the line, of the part of each note that lies inside the bar. So a note held
    over the bar line (a tie) counts in both bars for its part in each; a gap (a Score has
    no rests) makes a bar short; a note still sounding when the next note of the line
    starts counts twice and makes the bar over-full. Bars are laid from 0 to the bar that
    holds the last onset. The pickup bar (``score.pickup > 0``) and that final bar may be
    short (see :attr:`Bar.may_be_short`); every other bar must be filled exactly, so a
    bar of silence (a whole-bar rest) counts as wrong.

    Returns:
        The bars in time order; ``[]`` for a score without pitched notes.
    """
    line = melodic_line(score.notes)
    if not line:
        return []
    spans = bar_spans(score, line[-1].start)
    bars, first = [], 0
    for index, (start, end) in enumerate(spans):
        while first < len(line) and line[first].end <= start:
            first += 1
        filled = Fraction(0)
        for n in line[first:]:
            if n.start >= end:
                break
            filled += min(n.end, end) - max(n.start, start)
        partial = (index == 0 and score.pickup > 0) or index == len(spans) - 1
        expected = score.time_signature_at(start).bar_length
        bars.append(Bar(start, filled, expected, partial))
    return bars


def bar_correctness(source: Score | Sequence[Bar]) -> tuple[int, int]:
    """How many bars are correct, of how many judged.

    Args:
        source: a Score (its :func:`grid_bars` are judged) or bars already found, e.g.
            the written bars of an ABC tune from
            :func:`~musicgen.metrics.abc_bars.written_bars`.

    Returns:
        ``(correct, judged)``: bars with :attr:`Bar.correct`, and all bars.
    """
    bars = grid_bars(source) if isinstance(source, Score) else source
    return sum(b.correct for b in bars), len(bars)


def bar_correct_rate(sources: Iterable[Score | Sequence[Bar]]) -> float | None:
    """Share of correct bars over a whole set, each bar counting once (pooled).

    Returns:
        correct bars / judged bars over all ``sources``; None when no bar was judged.
    """
    correct = judged = 0
    for source in sources:
        c, j = bar_correctness(source)
        correct, judged = correct + c, judged + j
    return correct / judged if judged else None
