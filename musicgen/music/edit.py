"""Score edits: keep the beginning of a piece, or its end from a bar line on."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from musicgen.music.score import Score


def truncate(score: Score, end: Fraction) -> Score:
    """``score`` up to ``end``: notes starting before it, cut to end there."""
    notes = [
        replace(n, duration=min(n.duration, end - n.start)) for n in score.notes if n.start < end
    ]
    return replace(
        score,
        notes=notes,
        time_signatures=[ts for ts in score.time_signatures if ts.start < end],
        tempos=[t for t in score.tempos if t.start < end],
        chord_symbols=[c for c in score.chord_symbols if c.start < end],
    )


def tail(score: Score, start: Fraction) -> Score:
    """The part of ``score`` from ``start`` (a bar line) on, timed from 0, without pickup."""
    notes = [replace(n, start=n.start - start) for n in score.notes if n.start >= start]
    meter = score.time_signature_at(start)
    later = [replace(t, start=t.start - start) for t in score.time_signatures if t.start > start]
    return replace(
        score, notes=notes, time_signatures=[replace(meter, start=Fraction(0)), *later],
        tempos=[replace(t, start=max(t.start - start, Fraction(0))) for t in score.tempos][-1:],
        chord_symbols=[], pickup=Fraction(0),
    )  # fmt: skip
