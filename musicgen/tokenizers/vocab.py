"""Settings of the note tokenizer and the vocabulary they imply.

The vocabulary is a pure function of :class:`NoteSettings`, so saving the settings is
enough to rebuild the exact same ids. Every token is a ``Type_Value`` string; alongside the
strings the vocabulary keeps two flat numpy arrays (kind and integer value per id) that the
grammar and the transposition table index without parsing strings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from musicgen.music.score import MODE_FIFTHS, Key, _tonic_name
from musicgen.tokenizers.base import BOS, EOS, PAD

# Folk and pop meters; 4/2 (8 quarter notes) sets the longest bar and so the Position range.
DEFAULT_TIME_SIGNATURES = (
    "2/4", "3/4", "4/4", "5/4", "6/4", "7/4", "2/2", "3/2", "4/2",
    "3/8", "5/8", "6/8", "7/8", "9/8", "12/8",
)  # fmt: skip
# One Key token per signature (-7..7 fifths) and mode; ionian/aeolian fold into major/minor.
MODES = ("major", "minor", "dorian", "mixolydian", "phrygian", "lydian", "locrian")
DRUM = 128  # the integer value of ``Program_drum``
DEFAULT_VELOCITY = 80  # what notes get when velocity is not tokenized (Note's own default)

# Token kinds, the first column of the grammar table. New kinds go at the end so that the
# numbers (and the ids of existing tokens) stay stable.
PAD_K, BOS_K, EOS_K, BAR, TIMESIG, KEY, TEMPO, PROGRAM, POSITION, PITCH, VELOCITY, DURATION = range(
    12
)
PICKUP = 12
KIND_NAMES = (
    "<pad>", "<bos>", "<eos>", "Bar", "TimeSig", "Key", "Tempo", "Program", "Position",
    "Pitch", "Velocity", "Duration", "Pickup",
)  # fmt: skip


@dataclass(frozen=True)
class NoteSettings:
    """Everything that fixes the note vocabulary (see ``NoteTokenizer`` for the meaning)."""

    steps_per_quarter: int = 12
    pitch_range: tuple[int, int] = (21, 108)
    max_duration: int = 8
    use_velocity: bool = True
    velocity_bins: int = 8
    tempo_bins: int = 32
    tempo_range: tuple[float, float] = (40.0, 250.0)
    time_signatures: tuple[str, ...] = DEFAULT_TIME_SIGNATURES
    use_programs: bool = True
    meters: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        meters = tuple(_parse_meter(t) for t in self.time_signatures)
        if not meters or len(set(meters)) != len(meters):
            raise ValueError(f"time_signatures must be distinct and non-empty: {meters}")
        lo, hi = self.pitch_range
        if not 0 <= lo <= hi <= 127 or self.steps_per_quarter < 1 or self.max_duration < 1:
            raise ValueError(f"bad note tokenizer settings: {self}")
        object.__setattr__(self, "meters", meters)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["meters"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoteSettings:
        names = set(cls.__dataclass_fields__) - {"meters"}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names}
        return cls(**kw)

    def bar_steps(self, meter: tuple[int, int]) -> int:
        """Length of a bar of ``meter`` on the grid (exact for every supported meter)."""
        return 4 * meter[0] * self.steps_per_quarter // meter[1]

    @property
    def max_bar_steps(self) -> int:
        return max(self.bar_steps(m) for m in self.meters)

    @property
    def velocities(self) -> list[int]:
        """Representative velocity of each bin: the bins split 1–127 evenly."""
        return [round(127 * (i + 1) / self.velocity_bins) for i in range(self.velocity_bins)]

    @property
    def tempos(self) -> list[int]:
        """Tempo bins in quarter notes per minute: geometric over ``tempo_range`` (each bin a
        similar step in feel) and shifted so that 120, the MIDI default, is a bin."""
        lo, hi = self.tempo_range
        n = self.tempo_bins
        ratio = (hi / lo) ** (1 / max(n - 1, 1))
        k0 = round(math.log(120 / lo) / math.log(ratio)) if ratio > 1 else 0
        return sorted({round(120 * ratio ** (k - k0)) for k in range(n)})


def _parse_meter(text: str) -> tuple[int, int]:
    num, den = (int(x) for x in text.split("/"))
    if num < 1 or den < 1 or den & (den - 1):
        raise ValueError(f"unsupported time signature {text!r}")
    return num, den


def all_keys() -> list[Key]:
    """Every key a Key token names: 15 signatures (7 flats .. 7 sharps) times 7 modes."""
    keys = []
    for mode in MODES:
        for fifths in range(-7, 8):
            keys.append(Key(_tonic_name(fifths + MODE_FIFTHS[mode]), mode))
    return keys


class NoteVocab:
    """Token strings plus per-id ``kinds``/``values`` arrays and lookups from value to id.

    ``values`` holds: bar length in steps for TimeSig, an index into ``keys`` for Key, qpm
    for Tempo, the program (``DRUM`` = 128 for drums), the step for Position and Duration,
    the MIDI number for Pitch, the velocity for Velocity and the upbeat length in steps for
    Pickup. Pickup tokens come last, so the ids of the older kinds did not move.
    """

    def __init__(self, s: NoteSettings) -> None:
        self.settings = s
        self.tokens: list[str] = []
        kinds: list[int] = []
        values: list[int] = []
        self.ids: dict[tuple[int, Any], int] = {}  # (kind, value or object) -> id

        def add(kind: int, name: str, value: int, obj: Any = None) -> None:
            self.ids[(kind, value if obj is None else obj)] = len(self.tokens)
            self.tokens.append(name)
            kinds.append(kind)
            values.append(value)

        for kind, name in ((PAD_K, PAD), (BOS_K, BOS), (EOS_K, EOS), (BAR, "Bar")):
            add(kind, name, 0)
        for m in s.meters:
            add(TIMESIG, f"TimeSig_{m[0]}/{m[1]}", s.bar_steps(m), m)
        self.keys = all_keys()
        for i, k in enumerate(self.keys):
            add(KEY, f"Key_{k.tonic}_{k.mode}", i, k)
        for q in s.tempos:
            add(TEMPO, f"Tempo_{q}", q)
        if s.use_programs:
            for p in range(128):
                add(PROGRAM, f"Program_{p}", p)
            add(PROGRAM, "Program_drum", DRUM)
        for k in range(s.max_bar_steps):
            add(POSITION, f"Position_{k}", k)
        for p in range(s.pitch_range[0], s.pitch_range[1] + 1):
            add(PITCH, f"Pitch_{p}", p)
        if s.use_velocity:
            for v in s.velocities:
                add(VELOCITY, f"Velocity_{v}", v)
        for d in range(1, s.max_duration * s.steps_per_quarter + 1):
            add(DURATION, f"Duration_{d}", d)
        for k in range(1, s.max_bar_steps):
            add(PICKUP, f"Pickup_{k}", k)
        self.kinds = np.array(kinds, dtype=np.int8)
        self.values = np.array(values, dtype=np.int32)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.meter_of = {self.ids[(TIMESIG, m)]: m for m in s.meters}

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, kind: int, value: Any) -> int:
        return self.ids[(kind, value)]


def nearest(values: list[int], x: float, log: bool = False) -> int:
    """The element of sorted ``values`` closest to ``x`` (in log space if ``log``); ties go low."""
    f = (lambda v: math.log(v)) if log else float
    fx = f(max(x, 1e-9)) if log else x
    return min(values, key=lambda v: (abs(f(v) - fx), v))
