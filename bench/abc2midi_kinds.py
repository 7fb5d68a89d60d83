"""Kinds of difference between our ABC reader and abc2midi, each a narrow edit.

Each kind is an edit of one side's input (abc2midi's tune text, or ours) that makes the
two agree where abc2midi departs from ABC 2.1, or where ABC 2.1 leaves the reading open.
A tune is excluded only when its kind's edit (alone or with up to two others) makes the
notes identical; ``tests/test_abc2midi_oracle.py`` checks that every edit leaves tunes
without its feature unchanged. The table with examples is in ``docs/abc_oracle.md``.
"""

from __future__ import annotations

import re
import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicgen.music.abc import tokens as tk  # noqa: E402

FIELD = re.compile(r"[A-Za-z+]:|%")


def restart_after_second_ending(text: str) -> str:
    """abc2midi edit. After an ending ``[2 …`` closed by ``||`` or ``|]``, a ``:|`` sends
    abc2midi back to the section before the endings (which it then skips); ABC 2.1 §4.8
    repeats from that double bar. Edit: write ``|:`` after each such double bar."""
    return _edit_music(text, r"((?:\[|\|)2[^\n]*?)(\|\||\|\])(?!:)", r"\1\2 |:")


# ||, |] or [| (not inside the invisible bar line [|]), and the same inside the lookahead
_DOUBLE = r"(?:(?<!\[)\|\||(?<!\[)\|\]|\[\|(?!\]))"
_LATEST_DOUBLE_BAR = re.compile(
    rf"(?<!:)({_DOUBLE})(?![:\d])(?! *\|:)(?=(?:(?!{_DOUBLE}|:\|).)*:\|)", re.S
)


def restart_at_first_double_bar(text: str) -> str:
    """abc2midi edit. Before any repeat has been played, abc2midi takes a ``:|`` back to
    the start of the tune past a ``||`` (§4.8: "from the latest double bar line").
    Edit: write ``|:`` after each ``||``/``|]``/``[|`` that no ``:`` touches and that is the
    latest double bar before the next ``:|`` (abc2midi reads a second ``|:`` with no
    ``:|`` between as ``:|:``, so only that one gets it)."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _LATEST_DOUBLE_BAR.sub(r"\1 |:", music)


_PLAIN_REPEAT = re.compile(r"(:\|\|?)(?![\]:])(?![\s!]*(?:\[?\d|\|?:|\[\|))")


def restart_after_repeat(text: str) -> str:
    """abc2midi edit. Once a block of endings has been played, a later section that
    follows a plain ``:|`` and has endings of its own is not repeated (its first ending
    is skipped); ABC 2.1 §4.8 repeats from the "end of repeated section".
    Edit: write ``|:`` after each ``:|`` that no ``|:`` or ending follows."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _PLAIN_REPEAT.sub(r"\1 |:", music)


_LAST_ENDING_REPEATED = re.compile(
    r"((?:\[|\|)\s*2(?![\d,-])(?:(?!\[\d|\|\d|\|:|\|\]|\|\||::|:\|).)*?):\|(?![\d:])(?![\s!]*\[\d)",
    re.S,
)


def last_ending_repeated(text: str) -> str:
    """abc2midi edit. A second ending that itself ends in ``:|`` (``[2 cAA A2:|``, a
    slip for ``|]``): abc2midi goes back once more; ABC 2.1 §4.9 plays each ending on its
    own pass, and no pass is left for the section after the last ending (ambiguous text,
    we play on). Edit: that ``:|`` becomes ``|]``."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _LAST_ENDING_REPEATED.sub(r"\1|]", music)


def _edit_music(text: str, pattern: str, repl) -> str:
    """Apply a substitution to the music lines (not fields or comments) after ``K:``."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    lines = [ln if FIELD.match(ln) else re.sub(pattern, repl, ln) for ln in music.split("\n")]
    return head + sep + key_line + nl + "\n".join(lines)


def blank_line_before_music(text: str) -> str:
    """abc2midi edit. A blank line between ``K:`` and the first music line ends the tune
    for abc2midi (ABC 2.1 §2.2: a blank line ends a tune); we read on, since the music
    after it is plainly this tune's. Edit: drop the blank lines right after ``K:``."""
    return re.sub(r"^(K:[^\n]*\n)(?:[ \t]*\n)+(?=[^\n]*\S)", r"\1", text, count=1, flags=re.M)


def tuplet_in_triple_meter(text: str) -> str:
    """Our edit. abc2midi reads ``(5``, ``(7``, ``(9`` in a tune whose header meter is
    3/4, 3/8 or 3/2 as a compound meter's (p notes in the time of three); ABC 2.1 §4.13
    makes only 6/8, 9/8, 12/8 compound (p in the time of two).
    Edit: ``(p`` → ``(p:3`` for those p, in tunes with such a header ``M:``."""
    head = text.partition("\nK:")[0]
    if not re.search(r"^M:\s*3/[248]\s*$", head, re.M):
        return text
    return _edit_music(text, r"\(([579])(?![:\d])", r"(\1:3")


def fermata_before_invisible_bar(text: str) -> str:
    """abc2midi edit. abc2midi reads ``H[|]`` (a fermata on an invisible bar line,
    ABC 2.1 §4.8, §4.14) as a decorated chord opened at ``[`` and never closed: every
    later note of the tune, and of the tunes after it in the same process, sounds at one
    time. Edit: ``H[|]`` → ``[|]`` (a fermata on a bar line plays no note)."""
    return _edit_music(text, r"H(?=\[\|\])", "")


def plus_in_chord(text: str) -> str:
    """abc2midi edit. In ``[+GB][+GB]`` (a ``+`` left from ABC 1.x chords) abc2midi
    opens a ``+…+`` decoration (the deprecated form of ``!…!``, ABC 2.1 §4.14) at the
    first ``+`` and closes it at the next, so the notes between them are lost; we read
    each ``[…]`` as a chord and ignore the ``+``. Edit: ``+`` inside ``[…]`` deleted."""
    return _edit_music(text, r"\[([^\]\[|:]*)\]", lambda m: "[" + m.group(1).replace("+", "") + "]")


def broken_rhythm_unequal(text: str) -> str:
    """Our edit. ABC 2.1 §4.4: a broken rhythm between notes of unequal lengths gives
    "undefined results, and should be avoided". abc2midi then ignores the ``>``/``<``
    (``G<B3``, ``(3ABc>G``, the second ``>`` of ``A>B>c``: B is already shorter than c);
    we apply it. Edit: delete each ``>``/``<`` whose two notes, as played so far
    (tuplets and earlier broken rhythms applied), differ in length."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    lines = [ln if FIELD.match(ln) else _drop_unequal_broken(ln) for ln in music.split("\n")]
    return head + sep + key_line + nl + "\n".join(lines)


def _drop_unequal_broken(line: str) -> str:
    drop, pos = [], 0
    prev = pending = None  # played length of the last note; the broken rhythm after it
    factor, left = Fraction(1), 0  # the tuplet being read
    while pos < len(line) and (m := tk.TOKEN.match(line, pos)) is not None and m.end() > pos:
        kind, pos = m.lastgroup, m.end()
        if kind in ("note", "rest", "chord"):
            length = tk.length(m.group({"note": "len", "rest": "rlen", "chord": "clen"}[kind]))
            if kind == "chord":
                first = tk.CHORD_NOTE.match(m.group("cbody"))
                length *= tk.length(first.group("len")) if first else 1
            length *= factor if left else 1
            left = max(left - 1, 0)
            if pending is not None:
                (start, end, text) = pending
                if length != prev:
                    drop.append((start, end))
                else:
                    length *= tk.broken(text)[1]
            prev, pending = length, None
        elif kind == "broken" and prev is not None:
            pending = (m.start("broken"), m.end("broken"), m.group("broken"))
        elif kind == "tuplet":
            p, q, r = m.group("tp", "tq", "tr")
            q = int(q) if q else {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(int(p), 2)
            factor, left = Fraction(q, int(p)), int(r) if r else int(p)
        elif kind not in ("grace", "gchord", "skip", "lonetie"):
            prev = pending = None  # a bar line, a field: no broken rhythm across it
    for start, end in reversed(drop):
        line = line[:start] + line[end:]
    return line


def open_repeat_at_end(text: str) -> str:
    """abc2midi edit. ``|:|`` (O'Neill's last bar, ``G3-G2 |:|``; not a sign of ABC 2.1
    §4.8) is ``|:`` then ``|`` for abc2midi: a repeat opened that nothing closes, so the
    tune plays once; we read ``|`` then ``:|`` and repeat it, the only reading in which the
    dots mean anything. Edit: ``|:|`` → ``| :|``."""
    return _edit_music(text, r"\|:\|(?![|:\]])", "| :|")


def repeat_on_invisible_bar(text: str) -> str:
    """abc2midi edit. abc2midi drops the dots of ``:[|]`` (Ryan's ``"^Segno":[|]|]``),
    so the section is not repeated; we read the repeat dots on the invisible bar line
    (§4.8: ``[|]``) as a ``:|`` that is not printed. Edit: ``:[|]`` → ``:|``."""
    return _edit_music(text, r"(?<!:):\[\|\]", ":|")


def double_repeat_after_endings(text: str) -> str:
    """abc2midi edit. Once a block of endings has been played, abc2midi reads a later
    ``:|:`` as ``:|`` alone: the section after it is played once (nottingham reelsa-c
    X:81, ``[2 A4|||: … A2:|: … A4:|``); ABC 2.1 §4.8 makes ``:|:`` the end of one
    repeated section and the start of the next. Edit: ``:|:`` after the first ending
    → ``:| |:`` (abc2midi plays that)."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    first = re.search(r"(?:\[|\|)\d", music)
    if first is None:
        return text
    cut = first.end()
    rest = re.sub(r"(?<![:|])(:\|):(?![:|])", r"\1 |:", music[cut:])
    return head + sep + key_line + nl + music[:cut] + rest


_ENDING_ON_NEXT_LINE = re.compile(r"(?<![:|])\|[ \t]*\\?[ \t]*\n(?=[1-9]\d?(?:[,-]\d+)*(?![\d/]))")


def ending_on_next_line(text: str) -> str:
    """abc2midi edit. An ending number that starts the line after a plain ``|``
    (ryansMammoth X:109 *Brookside*, ``c'b|\\`` / ``1 (ag)d=e f2:|2 …``) is no ending
    for abc2midi, which reads one only after ``:|``; ABC 2.1 §2.2.6 makes a line ending
    in ``\\`` one line with the next, ``|1`` (§4.9). Edit: the two lines joined."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _ENDING_ON_NEXT_LINE.sub("|", music)


def restart_at_ending_double_bar(text: str) -> str:
    """abc2midi edit. On a double bar that a first ending starts on (``||1``, ryansMammoth
    X:345 *Hibernia's Pride*, ``(eg)||1 (fd)cA BGG2:|2 …``) abc2midi drops the ending
    number and goes back to that bar line; we go back past it (§4.8's "latest double bar
    line" is the ending's own bar line there: a repeat from it would repeat only the
    ending). Edit: ``||1`` → ``|1``."""
    return _edit_music(text, r"(?<![:\[])\|\|(?=[ \t]*\[?\d)", "|")


_UNCLOSED_START = re.compile(r"(?<![:|])\|:(?![:|])(?=(?:(?!:\||::).)*?(?<![:|])\|:)", re.S)


def unclosed_repeat_start(text: str) -> str:
    """abc2midi edit. A ``|:`` that no ``:|`` closes before the next ``|:``
    (ryansMammoth X:556 *Molly Bawn's*, ``|: … Hy |]`` / ``|: … :|``): abc2midi reads the
    second ``|:`` as ``:|:`` and repeats the first section; ABC 2.1 §4.8 repeats a
    section at its ``:|`` only, and none is written (ambiguous text: a ``:|`` is likely
    lost; we play what is written). Edit: that first ``|:`` → ``|``."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _UNCLOSED_START.sub("|", music)


THEIR_EDITS = {
    "abc2midi_restart_after_second_ending": restart_after_second_ending,
    "abc2midi_restart_at_first_double_bar": restart_at_first_double_bar,
    "abc2midi_blank_line_before_music": blank_line_before_music,
    "abc2midi_restart_after_repeat": restart_after_repeat,
    "abc2midi_last_ending_repeated": last_ending_repeated,
    "abc2midi_fermata_before_invisible_bar": fermata_before_invisible_bar,
    "abc2midi_plus_in_chord": plus_in_chord,
    "abc2midi_open_repeat_at_end": open_repeat_at_end,
    "abc2midi_repeat_on_invisible_bar": repeat_on_invisible_bar,
    "abc2midi_double_repeat_after_endings": double_repeat_after_endings,
    "abc2midi_ending_on_next_line": ending_on_next_line,
    "abc2midi_restart_at_ending_double_bar": restart_at_ending_double_bar,
    "abc2midi_unclosed_repeat_start": unclosed_repeat_start,
}
OUR_EDITS = {
    "abc2midi_tuplet_in_triple_meter": tuplet_in_triple_meter,
    "abc2midi_broken_rhythm_unequal": broken_rhythm_unequal,
}
# not an edit of this tune, and never combined with one: abc2midi plays this tune as we
# do alone and after the tune before it with H[|] edited away, not after that tune as is
PREVIOUS_KIND = "abc2midi_fermata_before_invisible_bar_in_previous_tune"
# the kinds that can explain a difference in the written order (no repeats played)
WRITTEN_KINDS = (
    PREVIOUS_KIND,
    "abc2midi_blank_line_before_music", "abc2midi_tuplet_in_triple_meter",
    "abc2midi_broken_rhythm_unequal", "abc2midi_fermata_before_invisible_bar",
    "abc2midi_plus_in_chord",
)  # fmt: skip
