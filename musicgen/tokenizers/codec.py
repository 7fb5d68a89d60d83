"""Quantized score <-> REMI token ids: the two directions of the note tokenizer.

``encode_ids`` writes an already-quantized score; ``decode_ids`` reads any id sequence
leniently, keeping every note that is well formed, and never raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.music.score import Score, Tempo
from musicgen.tokenizers.quantize import GridNote, grid_notes, grid_score, pickup_shift, to_steps
from musicgen.tokenizers.vocab import (
    BAR,
    BOS_K,
    DEFAULT_VELOCITY,
    DRUM,
    DURATION,
    EOS_K,
    KEY,
    PICKUP,
    PITCH,
    POSITION,
    PROGRAM,
    TEMPO,
    TIMESIG,
    VELOCITY,
    NoteVocab,
    nearest,
)  # fmt: skip


def header_ids(
    q: Score, notes: list[GridNote], pickup: int, v: NoteVocab
) -> tuple[list[int], bool]:
    """``<bos>``, TimeSig, [Key], [Tempo], [Pickup], Program*; and whether notes carry
    Program tokens."""
    ts = q.time_signatures[0]
    ids = [v.id(BOS_K, 0), v.id(TIMESIG, (ts.numerator, ts.denominator))]
    if q.key is not None:
        ids.append(v.id(KEY, q.key))
    if q.tempos:
        ids.append(v.id(TEMPO, round(q.tempos[0].qpm)))
    if pickup:
        ids.append(v.id(PICKUP, pickup))
    programs = sorted({DRUM if n.is_drum else n.program for n in notes})
    if v.settings.use_programs:
        ids += [v.id(PROGRAM, p) for p in programs]
    return ids, len(programs) > 1


def encode_ids(q: Score, v: NoteVocab) -> list[int]:
    """Token ids of a score that ``quantize`` already put on the grid."""
    s, spq = v.settings, v.settings.steps_per_quarter
    meter = q.time_signatures[0]
    bar0 = s.bar_steps((meter.numerator, meter.denominator))
    pickup, shift = pickup_shift(to_steps(q.pickup, spq), bar0)
    notes = grid_notes(q, s, shift)  # exact on a quantized score: to grid time, in order
    ids, per_note_program = header_ids(q, notes, pickup, v)
    changes = [(to_steps(t.start, spq) + shift, t) for t in q.time_signatures[1:]]
    bar_start, next_bar, pos = 0, 0, -1
    bar_id, vel = v.id(BAR, 0), s.use_velocity
    for n in notes:
        while n.start >= next_bar:
            ids.append(bar_id)
            bar_start, pos = next_bar, -1
            if changes and changes[0][0] == bar_start:
                meter = changes.pop(0)[1]
                ids.append(v.id(TIMESIG, (meter.numerator, meter.denominator)))
            next_bar = bar_start + s.bar_steps((meter.numerator, meter.denominator))
        if n.start - bar_start != pos:
            pos = n.start - bar_start
            ids.append(v.id(POSITION, pos))
        if per_note_program:
            ids.append(v.id(PROGRAM, DRUM if n.is_drum else n.program))
        ids.append(v.id(PITCH, n.pitch))
        if vel:
            ids.append(v.id(VELOCITY, n.velocity))
        ids.append(v.id(DURATION, n.duration))
    ids.append(v.id(EOS_K, 0))
    return ids


@dataclass
class _Reader:
    """Lenient decoding state: what has been read so far and what the next note needs."""

    v: NoteVocab
    meters: list = field(default_factory=list)  # (bar start step, (num, den))
    key: object = None
    tempo: int | None = None
    pickup: int = 0  # steps; 0 without a Pickup token
    programs: list[int] = field(default_factory=list)
    notes: list[GridNote] = field(default_factory=list)
    bar_start: int | None = None  # None until the first Bar
    bar_len: int = 0
    after_bar: bool = False  # a TimeSig here changes the meter
    pos: int | None = None
    program: int | None = None
    pitch: int | None = None
    velocity: int | None = None

    def meter(self) -> tuple[int, int]:
        return self.meters[-1][1] if self.meters else (4, 4)

    def header(self, kind: int, value: int, tid: int) -> None:
        if kind == TIMESIG and not self.meters:
            self.meters.append((0, self.v.meter_of[tid]))
        elif kind == KEY and self.key is None:
            self.key = self.v.keys[value]
        elif kind == TEMPO and self.tempo is None:
            self.tempo = value
        elif kind == PICKUP and not self.pickup:
            self.pickup = value
        elif kind == PROGRAM and value not in self.programs:
            self.programs.append(value)

    def bar(self) -> None:
        if self.bar_start is None:
            self.bar_start = 0
            if not self.meters:
                self.meters.append((0, (4, 4)))
        else:
            self.bar_start += self.bar_len
        self.bar_len = self.v.settings.bar_steps(self.meter())
        self.after_bar, self.pos, self.pitch = True, None, None

    def event(self, kind: int, value: int, tid: int) -> None:
        after_bar, self.after_bar = self.after_bar, False
        if kind == TIMESIG and after_bar:
            if self.meters and self.meters[-1][0] == self.bar_start:
                self.meters.pop()  # a second TimeSig after one Bar replaces the first
            self.meters.append((self.bar_start, self.v.meter_of[tid]))
            self.bar_len = self.v.settings.bar_steps(self.meter())
            self.after_bar = True
        elif kind == POSITION:
            self.pos = value if value < self.bar_len else None
            self.pitch = None
        elif kind == PROGRAM:
            self.program = value
        elif kind == PITCH:
            self.pitch, self.velocity = value, None
        elif kind == VELOCITY:
            self.velocity = value
        elif kind == DURATION:
            self.note(value)

    def note(self, duration: int) -> None:
        if self.pitch is not None and self.pos is not None:
            program = self.program
            if program is None:
                program = self.programs[0] if self.programs else 0
            velocity = self.velocity or self.default_velocity()
            drum = program == DRUM
            self.notes.append(
                GridNote(
                    start=self.bar_start + self.pos,
                    is_drum=drum,
                    pitch=self.pitch,
                    duration=duration,
                    program=0 if drum else program,
                    velocity=velocity,
                )
            )
        self.pitch = self.velocity = self.program = None

    def default_velocity(self) -> int:
        s = self.v.settings
        return nearest(s.velocities, DEFAULT_VELOCITY) if s.use_velocity else DEFAULT_VELOCITY


def decode_ids(ids: Iterable[int], v: NoteVocab) -> Score:
    """Read ids into a grid score: malformed parts are skipped, ``<eos>`` ends the piece."""
    r = _Reader(v)
    n = len(v)
    for raw in ids:
        try:
            tid = int(raw)
        except (TypeError, ValueError, OverflowError):
            continue
        if not 0 <= tid < n:
            continue
        kind, value = int(v.kinds[tid]), int(v.values[tid])
        if kind == EOS_K:
            break
        if kind == BAR:
            r.bar()
        elif r.bar_start is None:
            r.header(kind, value, tid)
        else:
            r.event(kind, value, tid)
    return _finish(r)


def _finish(r: _Reader) -> Score:
    """The decoded score in the tokenizer's canonical (quantized) form."""
    s = r.v.settings
    meters = r.meters or [(0, (4, 4))]
    # the meter at step 0 (header TimeSig, or one right after the first Bar) fixes the
    # upbeat, exactly as ``quantize`` reads it from the score
    pickup, shift = pickup_shift(r.pickup, s.bar_steps(meters[0][1]))
    notes = sorted({n for n in r.notes if n.start >= shift})  # before time 0: off-grammar
    last = notes[-1].start if notes else -1
    meters = [(b, m) for b, m in meters if b == 0 or b <= last]
    # consecutive equal meters collapse, exactly as quantize drops repeated ones
    meters = [bm for i, bm in enumerate(meters) if i == 0 or bm[1] != meters[i - 1][1]]
    tempos = [] if r.tempo is None else [Tempo(Fraction(0), float(r.tempo))]
    return grid_score(notes, meters, r.key, tempos, s, pickup)
