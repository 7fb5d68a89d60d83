"""The score's clock: where its bar lines fall, and quarter notes <-> seconds.

Times in a :class:`Score` are exact quarter notes from the start of the piece. Bars are
counted from the first full bar: an upbeat (``score.pickup > 0``) is bar 0, a partial bar,
so the first bar line is at ``score.pickup``. Seconds follow the tempo map, at
:data:`DEFAULT_QPM` until its first change.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from musicgen.music.score import Score

DEFAULT_QPM = 120.0  # MIDI's default tempo, and the Score's for an empty tempo map


def _tempo_segments(score: Score) -> list[tuple[Fraction, float]]:
    """``(start, qpm)`` pairs from time 0 on; 120 qpm until the first tempo change."""
    segments = [(Fraction(0), DEFAULT_QPM)]
    for tempo in score.tempos:
        if tempo.start <= 0:
            segments[0] = (Fraction(0), float(tempo.qpm))
        else:
            segments.append((tempo.start, float(tempo.qpm)))
    return segments


def seconds_at(score: Score, quarter_time: Fraction | float) -> float:
    """Seconds from the start of the piece to ``quarter_time``, through the tempo map."""
    seconds, segments = 0.0, _tempo_segments(score)
    for i, (start, qpm) in enumerate(segments):
        end = segments[i + 1][0] if i + 1 < len(segments) else None
        if end is None or quarter_time <= end:
            return seconds + float(quarter_time - start) * 60.0 / qpm
        seconds += float(end - start) * 60.0 / qpm
    return seconds  # unreachable: the last segment is open-ended


def quarters_at(score: Score, seconds: float, grid: int = 480) -> Fraction:
    """Quarter-note time at ``seconds``, rounded to ``1/grid`` of a quarter (a MIDI tick)."""
    segments = _tempo_segments(score)
    for i, (start, qpm) in enumerate(segments):
        end = segments[i + 1][0] if i + 1 < len(segments) else None
        if end is None or seconds <= seconds_at(score, end):
            quarters = float(start) + (seconds - seconds_at(score, start)) * qpm / 60.0
            return Fraction(round(quarters * grid), grid)
    raise AssertionError("the last tempo segment is open-ended")


def bar_lines(score: Score) -> Iterator[Fraction]:
    """Bar lines from the first full bar on, without end.

    The first is ``score.pickup`` (0 without an upbeat); each next one is a bar of the
    meter in force later, and a meter change in mid-bar starts a new bar.
    """
    time = score.pickup
    while True:
        yield time
        following = time + score.time_signature_at(time).bar_length
        changes = [ts.start for ts in score.time_signatures if time < ts.start < following]
        time = min(changes, default=following)


def bar_line_at_or_after(score: Score, time: Fraction) -> Fraction:
    """The first bar line at or after ``time`` (``time`` itself inside a pickup bar → pickup)."""
    return next(line for line in bar_lines(score) if line >= time)


def bar_line_after(score: Score, bars: int) -> Fraction:
    """The bar line that ends the ``bars``-th full bar (the pickup is bar 0)."""
    for count, line in enumerate(bar_lines(score)):
        if count == bars:
            return line
    raise AssertionError("bar_lines is endless")
