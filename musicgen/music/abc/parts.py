"""Parts: the header's ``P:`` play order, and the body's ``P:`` labels it names.

ABC 2.1 §3.1.9: in the header, ``P:`` gives the order in which the parts are played
(``P:AABA``, ``P:A(BC)2``: a number repeats the part or the bracketed group before it,
dots are for readability only); in the body, ``P:A`` marks where part A starts. A player
plays the music before the first label (an introduction), then each named part in turn,
each with its own repeats expanded; a name with no label in the body is skipped (as
abc2midi does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from musicgen.music.abc.repeats import Marker, played_spans

_ORDER = re.compile(r"[A-Z0-9().\s]+")
_MAX_PARTS = 1_000  # ``P:(((A9)9)9)9`` must not play for ever


@dataclass(frozen=True, slots=True)
class PartLabel:
    """A body ``P:`` field: part ``name`` starts at ``time``, before marker ``index``."""

    time: int | Fraction
    index: int
    name: str


def part_order(text: str) -> list[str] | None:
    """The part names a header ``P:`` value plays, in order; None when the value is not a
    play order (``P:Modern Version.`` is a comment, not parts M and V)."""
    text = text.split("%", 1)[0].strip()
    if not text or _ORDER.fullmatch(text) is None:
        return None
    stack: list[list[str]] = [[]]
    last: list[str] = []
    for char in re.findall(r"[A-Z]|\d+|[()]", text):
        if char == "(":
            stack.append([])
        elif char == ")" and len(stack) > 1:
            last = stack.pop()
            stack[-1] += last
        elif char.isdigit():
            stack[-1] += last * (min(int(char), _MAX_PARTS) - 1)
        elif char.isalpha():
            last = [char]
            stack[-1].append(char)
        if len(stack[-1]) > _MAX_PARTS:
            break
    order = [name for group in stack for name in group][:_MAX_PARTS]
    return order or None


def part_spans(
    markers: list[Marker], labels: list[PartLabel], order: list[str], end: int | Fraction
) -> list[tuple]:
    """Written-time spans in played order: the introduction, then each part of ``order``
    (every place it is labelled), each with its repeats expanded within it."""
    bounds = [(label.time, label.index) for label in labels] + [(end, len(markers))]
    segments = {}
    for k, label in enumerate(labels):
        (lo, i), (hi, j) = bounds[k], bounds[k + 1]
        segments.setdefault(label.name, []).append((lo, hi, markers[i:j]))
    first_time, first_index = bounds[0]
    spans = played_spans(markers[:first_index], first_time) if first_time > 0 else []
    for name in order:
        for lo, hi, inside in segments.get(name, []):
            spans += played_spans(inside, hi, lo)
    return spans
