"""The lossy part of note tokenization, as a ``Score -> Score`` function.

``decode(encode(s)) == quantize(s)`` exactly, so every loss the tokenizer has is written
here and nowhere else. All times are handled as integer grid steps.

Bars are laid on "grid time" = score steps + ``shift``. With an upbeat of ``p`` steps
(``Score.pickup``), ``shift = bar0 - p`` puts the upbeat notes at the end of bar 0 and the
first bar line at grid step ``bar0``, score time ``pickup``; without one ``shift = 0``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from musicgen.music.errors import ScoreLimitError
from musicgen.music.limits import MAX_SPAN_QUARTERS
from musicgen.music.score import Key, Note, Score, Tempo, TimeSignature
from musicgen.tokenizers.vocab import DEFAULT_VELOCITY, MODES, NoteSettings, nearest

# Mode names (or ABC's three-letter abbreviations) folded onto the seven Key-token modes.
_MODE_PREFIX = {"": "major", "m": "minor", "ion": "major", "aeo": "minor"} | {
    m[:3]: m for m in MODES
}


class GridNote(NamedTuple):
    """A note on the grid: integer steps, binned velocity, drums as program 0.

    The field order is the token order within the piece: by onset, then drums after
    pitched notes (so transposing the pitched notes keeps the order), then pitch.
    """

    start: int
    is_drum: bool
    pitch: int
    duration: int
    program: int
    velocity: int


def to_steps(t: Fraction, spq: int) -> int:
    """``t`` quarter notes rounded half-up to the grid of ``spq`` steps per quarter note."""
    if not isinstance(t, Fraction):
        t = Fraction(t)
    return (2 * t.numerator * spq + t.denominator) // (2 * t.denominator)


def pickup_shift(pickup: int, bar0: int) -> tuple[int, int]:
    """``(pickup, shift)`` in steps for an upbeat of ``pickup`` steps before a first bar of
    ``bar0`` steps; ``(0, 0)`` unless ``0 < pickup < bar0`` (a full bar is no upbeat)."""
    return (pickup, bar0 - pickup) if 0 < pickup < bar0 else (0, 0)


def grid_notes(score: Score, s: NoteSettings, shift: int = 0) -> list[GridNote]:
    """The score's notes on the grid (onsets in grid time), deduplicated, in token order.

    Onsets before time 0 move to 0; out-of-range pitches are dropped (clipping would invent
    wrong notes); with ``use_programs`` off, drums are dropped and every other note
    becomes program 0.
    """
    spq, (lo, hi) = s.steps_per_quarter, s.pitch_range
    max_steps = s.max_duration * spq
    velocities = s.velocities
    vel_of: dict[int, int] = {}
    out = set()
    for n in score.notes:
        if not lo <= n.pitch <= hi or (n.is_drum and not s.use_programs):
            continue
        start = max(0, to_steps(n.start, spq)) + shift
        dur = min(max(1, to_steps(n.duration, spq)), max_steps)
        vel = DEFAULT_VELOCITY
        if s.use_velocity:
            if n.velocity not in vel_of:
                vel_of[n.velocity] = nearest(velocities, n.velocity)
            vel = vel_of[n.velocity]
        program = 0 if n.is_drum or not s.use_programs else n.program
        out.add(GridNote(start, n.is_drum, n.pitch, dur, program, vel))  # token order
    return sorted(out)


def map_meter(ts: TimeSignature, s: NoteSettings) -> tuple[int, int]:
    """A supported meter for ``ts``: itself, else the nearest bar length (same denominator
    preferred on ties, then the order of ``s.time_signatures``); nonsense maps to 4/4."""
    meter = (ts.numerator, ts.denominator)
    if meter in s.meters:
        return meter
    if ts.numerator < 1 or ts.denominator < 1:
        return (4, 4) if (4, 4) in s.meters else s.meters[0]
    length = Fraction(4 * ts.numerator, ts.denominator)
    return min(
        s.meters,
        key=lambda m: (abs(Fraction(4 * m[0], m[1]) - length), m[1] != ts.denominator),
    )


def first_meter(score: Score, s: NoteSettings) -> tuple[tuple[int, int], list[tuple]]:
    """The meter in force at time 0 and the later ``(score step, meter)`` changes."""
    spq = s.steps_per_quarter
    changes = [(to_steps(t.start, spq), map_meter(t, s)) for t in score.time_signatures]
    meter = (4, 4) if (4, 4) in s.meters else s.meters[0]
    while changes and changes[0][0] <= 0:
        meter = changes.pop(0)[1]
    return meter, changes


def bar_meters(meter: tuple, changes: list[tuple], last_step: int, s: NoteSettings) -> list:
    """``(bar start step, meter)`` for every meter in force, ``meter`` at step 0.

    ``changes`` are ``(grid step > 0, meter)``. A change takes effect at the first bar line
    at or after it; of several changes reaching one bar line the last wins; changes that
    repeat the meter in force, or that fall after the bar holding ``last_step``, are dropped.
    """
    changes = list(changes)
    out = [(0, meter)]
    bar = s.bar_steps(meter)
    while changes and bar <= last_step:
        new = meter
        while changes and changes[0][0] <= bar:
            new = changes.pop(0)[1]
        if new != meter:
            meter = new
            out.append((bar, meter))
        if changes:
            # jump straight to the bar line at or after the next change
            step = s.bar_steps(meter)
            bar += max(1, -(-(changes[0][0] - bar) // step)) * step
    return out


def quantize_key(key: Key | None) -> Key | None:
    """Fold a key onto the Key tokens: seven modes, signatures of at most seven accidentals."""
    if key is None:
        return None
    tonic = key.tonic[:1].upper() + key.tonic[1:]
    if not re.fullmatch(r"[A-G](#*|b*)", tonic):
        return None  # not a key we can name; the tokenizer keeps no key rather than guess
    mode = _MODE_PREFIX.get(key.mode.lower()[:3], "major")
    q = Key(tonic, mode)
    # beyond seven accidentals (G# major): respell enharmonically with the fewest
    return q if abs(q.fifths) <= 7 else q.transposed(0)


def quantize_tempo(score: Score, s: NoteSettings) -> list[Tempo]:
    """Only the first tempo survives, binned, at time 0."""
    if not score.tempos:
        return []
    return [Tempo(Fraction(0), float(nearest(s.tempos, score.tempos[0].qpm, log=True)))]


def grid_score(
    notes: list[GridNote], meters, key, tempos, s: NoteSettings, pickup: int = 0
) -> Score:
    """A :class:`Score` from grid notes and quantized metadata: grid time back to score
    time (the first meter stays at 0), steps back to quarter notes.

    ``pickup`` is the upbeat in steps, already checked by :func:`pickup_shift`.
    """
    spq = s.steps_per_quarter
    shift = pickup_shift(pickup, s.bar_steps(meters[0][1]))[1]
    frac: dict[int, Fraction] = {}

    def q(step: int) -> Fraction:
        if step not in frac:
            frac[step] = Fraction(step, spq)
        return frac[step]

    return Score(
        notes=[
            Note(n.pitch, q(n.start - shift), q(n.duration), n.velocity, n.program, n.is_drum)
            for n in notes
        ],  # fmt: skip
        time_signatures=[TimeSignature(q(b - shift if b else 0), m[0], m[1]) for b, m in meters],
        tempos=tempos,
        key=key,
        pickup=q(pickup),
    )


def quantize(score: Score, s: NoteSettings) -> Score:
    """The score exactly as the tokenizer keeps it (see ``NoteTokenizer.quantize``).

    Raises:
        ScoreLimitError: for a last onset past ``MAX_SPAN_QUARTERS``: encoding writes one
            Bar token per bar up to it.
    """
    meter, changes = first_meter(score, s)
    pickup = to_steps(score.pickup, s.steps_per_quarter)
    pickup, shift = pickup_shift(pickup, s.bar_steps(meter))
    notes = grid_notes(score, s, shift)
    last = notes[-1].start if notes else -1
    if last > MAX_SPAN_QUARTERS * s.steps_per_quarter:
        raise ScoreLimitError(
            f"score {score.title!r} has a note at {last / s.steps_per_quarter:g} quarter notes; "
            f"the note tokenizer encodes at most {MAX_SPAN_QUARTERS}"
        )
    meters = bar_meters(meter, [(t + shift, m) for t, m in changes], last, s)
    return grid_score(notes, meters, quantize_key(score.key), quantize_tempo(score, s), s, pickup)
