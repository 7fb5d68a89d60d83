"""Values of the ABC information fields that change how notes sound: K:, M:, L:, Q:.

Each parser takes the field's value (after ``K:`` etc.) and raises :class:`FieldError`
when it cannot read it; the tune reader turns that into an ``AbcParseError`` with the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.music.limits import MAX_QPM
from musicgen.music.score import Key

# The first three letters of each mode name (ABC 2.1 3.1.14: case-insensitive, only the
# first three letters count); "m" alone is minor.
_MODES = {
    "": "major", "maj": "major", "ion": "ionian", "min": "minor", "m": "minor",
    "aeo": "aeolian", "dor": "dorian", "mix": "mixolydian", "phr": "phrygian",
    "lyd": "lydian", "loc": "locrian",
}  # fmt: skip
_KEY_HEAD = re.compile(r"\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)")
_KEY_ACC = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])$")
_ALTER = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
_SHARP_ORDER = "FCGDAEB"
# Words that may follow the tonic but are clefs or voice settings, not modes.
_NOT_MODES = (
    "exp", "clef", "transpose", "middle", "octave", "stafflines", "treble", "bass", "alto",
    "tenor", "perc", "none",
)  # fmt: skip


class FieldError(ValueError):
    """A field value that cannot be read (the caller adds file, tune and line)."""


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A parsed ``K:`` field.

    Attributes:
        key: the key signature for ``Score.key`` (None for ``K:none``).
        alters: semitone alteration per upper-case letter implied by the signature.
    """

    key: Key | None
    alters: dict[str, int] = field(default_factory=dict)


def _signature_alters(fifths: int) -> dict[str, int]:
    if fifths >= 0:
        return {letter: 1 for letter in _SHARP_ORDER[:fifths]}
    return {letter: -1 for letter in _SHARP_ORDER[::-1][:-fifths]}


def _key_head(value: str) -> tuple[Key | None, dict[str, int], str]:
    """Tonic and mode at the start of a K: value; returns the unread rest too."""
    low = value.lower()
    if low.startswith("none") or not value.strip():
        return None, {}, value[4:] if low.startswith("none") else ""
    if value.startswith(("HP", "Hp")):
        # Highland pipes: played with F# and C# (ABC 2.1 3.1.14); both spellings sound alike.
        return Key("A", "mixolydian"), {"F": 1, "C": 1}, value[2:]
    m = _KEY_HEAD.match(value)
    if not m:
        raise FieldError(f"unknown key {value!r}")
    mode_word = m.group(3).lower()
    if mode_word.startswith(_NOT_MODES):
        mode_word, rest = "", value[m.start(3) :]
    else:
        rest = value[m.end() :]
    mode = _MODES.get(mode_word[:3])
    if mode is None:
        raise FieldError(f"unknown mode {m.group(3)!r} in key {value!r}")
    key = Key(m.group(1).upper() + m.group(2), mode)
    return key, _signature_alters(key.fifths), rest


def parse_key(value: str) -> KeySpec:
    """Read a ``K:`` value such as ``"D"``, ``"Ador"``, ``"G Major"``, ``"D exp ^f _b"``.

    Words after the key (``clef=bass``, ``transpose=2``) are ignored; accidentals such as
    ``^g`` add to the signature, and after ``exp`` they replace it.

    Raises:
        FieldError: for a tonic or mode that is not ABC.
    """
    value = value.split("%", 1)[0]
    key, alters, rest = _key_head(value)
    for word in rest.split():
        if word.lower() == "exp":
            alters = {}
            continue
        acc = _KEY_ACC.match(word)
        if acc:
            alters = {**alters, acc.group(2).upper(): _ALTER[acc.group(1)]}
    return KeySpec(key, alters)


def parse_meter(value: str) -> tuple[int, int] | None:
    """Read an ``M:`` value: ``"6/8"``, ``"C"``, ``"C|"``, ``"2+3/8"``; None for ``none``.

    Raises:
        FieldError: for a value that is not a meter.
    """
    value = value.split("%", 1)[0].strip()
    if "/" in value and " " in value:  # "2 + 3 / 8" spacing, or words after the meter
        joined = value.replace(" ", "")
        value = joined if re.fullmatch(r"\(?[\d+]+\)?/\d+", joined) else value.split()[0]
    if not value or value.lower() == "none":
        return None
    if value == "C":
        return 4, 4
    if value == "C|":
        return 2, 2
    num, sep, den = value.partition("/")
    try:
        numerator = sum(int(p) for p in num.strip("()").split("+"))
        denominator = int(den) if sep else 0
    except ValueError:
        raise FieldError(f"unknown meter {value!r}") from None
    if numerator <= 0 or denominator <= 0:
        raise FieldError(f"unknown meter {value!r}")
    return numerator, denominator


# L: is a fraction of small whole numbers ("1/8"); anything else ("1e9") is not ABC.
_UNIT = re.compile(r"(\d{1,4})(?:/(\d{1,4}))?")


def parse_unit(value: str) -> Fraction:
    """Read an ``L:`` value such as ``"1/8"`` (a fraction of a whole note).

    Raises:
        FieldError: for anything but a positive fraction of numbers up to 4 digits.
    """
    value = value.split("%", 1)[0].strip()
    m = _UNIT.fullmatch(value.replace(" ", ""))
    if m is None:
        raise FieldError(f"unknown unit note length {value[:20]!r}")
    numerator, denominator = int(m.group(1)), int(m.group(2) or 1)
    if numerator == 0 or denominator == 0:
        raise FieldError(f"unit note length must be positive, got {value!r}")
    return Fraction(numerator, denominator)


_SIXTEENTH, _EIGHTH = Fraction(1, 16), Fraction(1, 8)


def default_unit(meter: tuple[int, int] | None) -> Fraction:
    """ABC 2.1 3.1.7: 1/16 when the meter is below 3/4, else 1/8 (also with no meter)."""
    if meter is not None and 4 * meter[0] < 3 * meter[1]:  # below 3/4, in whole numbers
        return _SIXTEENTH
    return _EIGHTH


_BEATS = re.compile(r"(\d+)/(\d+)")
_OLD_TEMPO = re.compile(r"^C(\d*)\s*=\s*(\d+(?:\.\d*)?)$")


def parse_tempo(value: str, unit: Fraction) -> float | None:
    """Quarter notes per minute of a ``Q:`` value; None when it gives no number.

    Forms: ``1/4=120``, ``3/8=80``, ``1/4 3/8=40`` (beats summed), ``"Allegro" 1/4=120``,
    ``120`` (unit notes per minute, ABC 1.6), ``C=120`` and ``C2=120`` (unit multiples).
    A tempo mark with text only (``"Allegro"``), or a number that cannot be read, gives
    None: the caller keeps its default.

    Raises:
        FieldError: for a tempo that is zero, negative, not finite or above ``MAX_QPM``.
    """
    value = re.sub(r'"[^"]*"', " ", value.split("%", 1)[0]).strip()
    if not value:
        return None
    qpm = _read_tempo(value, unit)
    if qpm is not None and not (qpm > 0 and math.isfinite(qpm) and qpm <= MAX_QPM):
        raise FieldError(
            f"tempo Q:{value[:20]} is {qpm:g} quarter notes per minute; "
            f"a tempo must be above 0 and at most {MAX_QPM:g}"
        )
    return qpm


def _read_tempo(value: str, unit: Fraction) -> float | None:
    beats, eq, bpm = value.rpartition("=")
    try:
        if not eq:
            return float(value) * float(unit) * 4
        rate = float(bpm.strip())
        old = _OLD_TEMPO.match(value.replace(" ", ""))
        if old:
            return rate * float(unit) * 4 * int(old.group(1)[:4] or 1)
        beat = sum(Fraction(int(n), int(d)) for n, d in _BEATS.findall(beats))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return rate * float(beat) * 4 if beat > 0 else None
