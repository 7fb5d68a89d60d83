"""The ABC music-line scanner: one compiled regex, one match per token.

A music line is read by calling ``TOKEN.match(line, pos)`` repeatedly; ``m.lastgroup`` names
the token kind. Spaces and backticks before a token are eaten by the same match, so the
scanner never loops over characters in Python.

Dots between two bar lines (``|:|``, not a sign of ABC 2.1 §4.8) face the music they
repeat: at the end of a line they end a repeat (``G2 |:|`` is ``| :|``), before more
music they start one (``e|:|||:A`` is ``|: || |:``). An invisible bar line takes no
dots: ``[|]:|`` is ``[|] :|``.
"""

from __future__ import annotations

import re
from fractions import Fraction

from musicgen.music.abc.fields import FieldError
from musicgen.music.limits import MAX_ENDING_NUMBER, MAX_NUMBER_DIGITS

_LEN = r"\d*(?:/+\d*)*"
# head: the pitch as written (accidental, letter, octave marks), a key for cached pitches
_NOTE = (
    r"(?P<head>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<oct>[,']*))"
    rf"(?P<len>{_LEN})(?P<tie>-?)"
)

TOKEN = re.compile(
    r"""[ \t`]*+(?:
    (?P<note>NOTE)
  | (?P<rest>[zx](?P<rlen>LEN))
  | (?P<mrest>Z(?P<bars>\d*))
  | (?P<bar>(?::*(?:\[\|\]?|\|[\]|]?)\]?
      (?::+(?![|\]])|(?<!\]):+(?![|\]][|\]:\s\\]*$))?|::+)(?P<bnum>\d+(?:[,-]\d+)*)?)
  | (?P<ending>\[(?P<enums>\d+(?:[,-]\d+)*))
  | (?P<field>\[(?P<fkey>[A-Za-z]):(?P<fval>[^\]\n]*)\])
  | (?P<chord>\[(?P<cbody>[^\]\[\n|]*)\](?P<clen>LEN)(?P<ctie>-?))
  | (?P<tuplet>\((?P<tp>\d+)(?::(?P<tq>\d*)(?::(?P<tr>\d*))?)?)
  | (?P<broken>[<>]+)
  | (?P<gchord>"(?P<gtext>[^"\n]*)")
  | (?P<grace>\{[^}\n]*\})
  | (?P<lonetie>-)
  | (?P<overlay>&)
  | (?P<skip>(?:![^!\n]*!|\+[^+\n]*\+|\((?!\d)|[=^_]+\d*(?=[\s|\\]|$)
      |[).~HIJKLMNOPQRSTUVWYhijklmnopqrstuvwy\\!*;$#@?']|:(?![|:]))+)
  | (?P<end>\s*$)
)""".replace("NOTE", _NOTE).replace("LEN", _LEN),
    re.VERBOSE,
)

# TOKEN, or else one character that no token reads (``bad``): it matches at every position
# of a line, so the scanner walks the line with one finditer instead of a call per token.
SCAN = re.compile(rf"(?:{TOKEN.pattern})|(?P<bad>.)", re.VERBOSE)

# Inside a chord: notes, with decorations and spaces between them.
CHORD_NOTE = re.compile(rf"(?:[ \t.~HLMOPSTuv+()]|![^!]*!)*{_NOTE}")
CHORD_REST = re.compile(r"(?:[ \t.~HLMOPSTuv+()]|![^!]*!)*")

_LENGTHS: dict[str, Fraction] = {"": Fraction(1)}
_BROKEN: dict[str, tuple[Fraction, Fraction]] = {}


def length(text: str) -> Fraction:
    """The multiplier written after a note: ``"2"``, ``"/2"``, ``"/"``, ``"//"``, ``"3/"``.

    Raises:
        FieldError: for a zero length, a division by zero (``/0``), or a number of more
            than ``MAX_NUMBER_DIGITS`` digits.
    """
    cached = _LENGTHS.get(text)
    if cached is not None:
        return cached
    head, *parts = text.split("/")
    if any(len(part) > MAX_NUMBER_DIGITS for part in (head, *parts)):
        raise FieldError(f"note length {text[:20]!r} has a number over {MAX_NUMBER_DIGITS} digits")
    value = Fraction(int(head) if head else 1)
    for part in parts:
        divisor = int(part) if part else 2
        if divisor == 0:
            raise FieldError(f"note length {text!r} divides by zero")
        value /= divisor
    if value == 0:
        raise FieldError(f"note length {text!r} is zero")
    _LENGTHS[text] = value
    return value


def broken(text: str) -> tuple[Fraction, Fraction]:
    """Multipliers (before, after) for a broken rhythm ``>``, ``>>``, ``<``, ``<<``.

    Raises:
        FieldError: for a mixture such as ``<>``.
    """
    cached = _BROKEN.get(text)
    if cached is not None:
        return cached
    if len(set(text)) != 1 or len(text) > 3:
        raise FieldError(f"broken rhythm {text!r} is not ABC")
    short = Fraction(1, 2 ** len(text))
    pair = (2 - short, short) if text[0] == ">" else (short, 2 - short)
    _BROKEN[text] = pair
    return pair


def ending_numbers(text: str) -> tuple[int, ...]:
    """``"1"`` → (1,), ``"1,3"`` → (1, 3), ``"1-3"`` → (1, 2, 3).

    Raises:
        FieldError: for a number above ``MAX_ENDING_NUMBER`` (a range is expanded in full).
    """
    numbers: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        # digits checked first: int() of thousands of digits is itself slow
        if len(lo) > 3 or len(hi) > 3 or max(int(lo or 0), int(hi or 0)) > MAX_ENDING_NUMBER:
            raise FieldError(
                f"ending {text[:20]!r} goes past {MAX_ENDING_NUMBER}, the largest read"
            )
        if lo and hi:
            numbers.extend(range(int(lo), int(hi) + 1))
        elif lo:
            numbers.append(int(lo))
    return tuple(numbers)


BASE_PITCH = {"C": 60, "D": 62, "E": 64, "F": 65, "G": 67, "A": 69, "B": 71}
BASE_PITCH.update({k.lower(): v + 12 for k, v in BASE_PITCH.items()})
ALTER = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
