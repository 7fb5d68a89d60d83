"""The one note representation every reader, writer and tokenizer converts to and from.

Times are in quarter notes as exact :class:`fractions.Fraction` values, so ABC durations
(triplets, broken rhythm) and MIDI ticks are both represented without rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

# Offset of each mode's tonic above the major (ionian) tonic, in fifths.
MODE_FIFTHS = {
    "major": 0, "ionian": 0, "mixolydian": 1, "dorian": 2, "minor": 3, "aeolian": 3,
    "phrygian": 4, "locrian": 5, "lydian": -1,
}  # fmt: skip
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def tonic_pitch_class(tonic: str) -> int:
    """Pitch class (0–11) of a tonic name such as ``"F#"`` or ``"Bb"``."""
    pc = _PITCH_CLASS[tonic[0].upper()]
    for ch in tonic[1:]:
        pc += 1 if ch == "#" else -1 if ch == "b" else 0
    return pc % 12


@dataclass(frozen=True, slots=True)
class Note:
    """One sounding note.

    Attributes:
        pitch: MIDI note number, 0–127.
        start: onset in quarter notes from the start of the piece.
        duration: length in quarter notes (0 for a zero-length MIDI note).
        velocity: MIDI velocity, 1–127.
        program: General MIDI program, 0–127, of the part that plays it.
        is_drum: True for percussion (MIDI channel 10).
    """

    pitch: int
    start: Fraction
    duration: Fraction
    velocity: int = 80
    program: int = 0
    is_drum: bool = False

    @property
    def end(self) -> Fraction:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class TimeSignature:
    start: Fraction
    numerator: int
    denominator: int

    @property
    def bar_length(self) -> Fraction:
        """Length of one bar in quarter notes."""
        return Fraction(4 * self.numerator, self.denominator)


@dataclass(frozen=True, slots=True)
class Tempo:
    start: Fraction
    qpm: float  # quarter notes per minute


@dataclass(frozen=True, slots=True)
class Key:
    """A key signature: tonic name (``"D"``, ``"F#"``, ``"Bb"``) and mode.

    ``fifths`` is the number of sharps (negative: flats) of the signature, derived from the
    tonic's spelling and the mode (F# major: 6, Gb major: -6, D dorian: 0).
    """

    tonic: str
    mode: str = "major"

    @property
    def fifths(self) -> int:
        return _fifths_from_c(self.tonic) - MODE_FIFTHS.get(self.mode, 0)

    def transposed(self, semitones: int) -> Key:
        """The same mode on a tonic moved by ``semitones``, spelled with the fewest accidentals."""
        shift = MODE_FIFTHS.get(self.mode, 0)
        new_pc = (tonic_pitch_class(self.tonic) + semitones) % 12
        # tonic spellings from Fbb to B## whose pitch class matches; fewest accidentals in
        # the signature wins, ties (F# vs Gb major) keep the side of the original key.
        names = [_tonic_name(f) for f in range(-15, 20)]
        names = [n for n in names if tonic_pitch_class(n) == new_pc]
        side = 1 if self.fifths >= 0 else -1
        best = min(names, key=lambda n: (abs(_fifths_from_c(n) - shift), -side * _fifths_from_c(n)))
        return Key(best, self.mode)


def _fifths_from_c(tonic: str) -> int:
    """Position of a note name on the line of fifths: C=0, G=1, F=-1, F#=6, Bb=-2."""
    base = "FCGDAEB".index(tonic[0].upper()) - 1
    sharps = tonic.count("#") - tonic[1:].count("b")
    return base + 7 * sharps


def _tonic_name(fifths_from_c: int) -> str:
    """Name of the note ``fifths_from_c`` fifths above C (F=-1, G=1, F#=6, Bb=-2 ...)."""
    idx = fifths_from_c + 1
    letter = "FCGDAEB"[idx % 7]
    acc = idx // 7
    return letter + ("#" * acc if acc > 0 else "b" * -acc)


@dataclass(frozen=True, slots=True)
class ChordSymbol:
    """A chord symbol written over the melody (ABC ``"Am"``): text only, no notes."""

    start: Fraction
    text: str


@dataclass
class Score:
    """A piece as notes plus the little metadata that matters.

    ``notes`` are kept sorted by ``(start, pitch, duration, program)``; the maps
    ``time_signatures`` and ``tempos`` are sorted by start. An empty map means the
    default: 4/4 and 120 quarter notes per minute.

    ``pickup`` is the length of an anacrusis (upbeat) in quarter notes: the first bar line
    falls at ``pickup`` and later ones follow the meter from there. 0 means the piece
    starts on a bar line, as MIDI files always do.
    """

    notes: list[Note] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    tempos: list[Tempo] = field(default_factory=list)
    key: Key | None = None
    title: str = ""
    chord_symbols: list[ChordSymbol] = field(default_factory=list)
    pickup: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        self.notes.sort(key=_note_order)
        self.time_signatures.sort(key=lambda t: t.start)
        self.tempos.sort(key=lambda t: t.start)
        self.chord_symbols.sort(key=lambda c: c.start)

    @property
    def end(self) -> Fraction:
        """Time (quarter notes) when the last note ends; 0 for an empty score."""
        return max((n.start + n.duration for n in self.notes), default=Fraction(0))

    def time_signature_at(self, time: Fraction) -> TimeSignature:
        current = TimeSignature(Fraction(0), 4, 4)
        for ts in self.time_signatures:
            if ts.start > time:
                break
            current = ts
        return current

    def transposed(self, semitones: int) -> Score:
        """The score moved by ``semitones`` with its key signature; drums stay put.

        Raises:
            ValueError: if a note would leave the MIDI range 0–127.
        """
        notes = []
        for n in self.notes:
            if n.is_drum:
                notes.append(n)
                continue
            p = n.pitch + semitones
            if not 0 <= p <= 127:
                raise ValueError(f"transposing by {semitones} moves pitch {n.pitch} out of 0-127")
            notes.append(replace(n, pitch=p))
        key = self.key.transposed(semitones) if self.key is not None else None
        return replace(self, notes=notes, key=key)


def _note_order(n: Note) -> tuple:
    return (n.start, n.pitch, n.duration, n.program, n.is_drum, n.velocity)


_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """Scientific pitch name, middle C (60) being ``C4``."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"
