"""Reading the body of one tune: field lines and music lines, voice by voice.

Errors raise :class:`FieldError` with a message only; ``tune.py`` adds file, tune and line.
"""

from __future__ import annotations

import re
from fractions import Fraction

from musicgen.music.abc import tokens as tk
from musicgen.music.abc.fields import (
    FieldError,
    KeySpec,
    default_unit,
    parse_key,
    parse_meter,
    parse_tempo,
    parse_unit,
)
from musicgen.music.abc.parts import PartLabel
from musicgen.music.abc.repeats import CLOSE, END, ENDING, START, Marker
from musicgen.music.abc.voice import Voice
from musicgen.music.limits import MAX_ENDING_NUMBER, MAX_NUMBER_DIGITS, MAX_REST_BARS

_QUARTERS_PER_WHOLE = 4
# %%propagate-accidentals' default, as ABC 2.1 §11.3 names it (see the package docstring)
DEFAULT_PROPAGATE = "pitch"
_CLOSING_BARS = ("||", "|]", "[|")  # [|] is an invisible bar line, not a double bar


# an accidental with no note after it, with the length written for it (``=3``, ``^``)
_LONE_ACCIDENTAL = re.compile(r"[=^_]+[\d/]*")
_REST_IN_CHORD = re.compile(r"[zx][\d/]*")
# an ending number written at the start of a line whose bar line ended the line before
# (``:|`` / ``2 BGG``): not ABC, but plainly the ending ``:|2``, and abc2midi plays it so
_LINE_ENDING = re.compile(r"[1-9]\d?(?:[,-][1-9]\d?)*(?![\d/])")
_ENDS_IN_BAR = re.compile(r"(?:\|[\]|]?:*|::+)[ \t]*\\?[ \t]*$")
_OPENERS = {"[": "chord (no closing ])", "{": "grace notes (no closing })", '"': "quoted text"}


def _unreadable(m: re.Match) -> None:
    """Music the scanner cannot read (a ``bad`` token; spaces before it skipped).

    Raises:
        FieldError: always, naming what was not read and its column.
    """
    line, pos = m.string, _token_start(m.string, m.start())
    what = _OPENERS.get(line[pos], "")
    lead = f"cannot read {what} " if what else "cannot read "
    raise FieldError(f"{lead}{line[pos : pos + 12]!r} (column {pos + 1})")


def _token_start(line: str, pos: int) -> int:
    """Where the token at ``pos`` starts, after the spaces the scanner eats first."""
    while pos < len(line) - 1 and line[pos] in " \t`":
        pos += 1
    return pos


def _skip_bad(line: str, pos: int) -> int:
    """Where reading resumes after unreadable text at ``pos``: past one bad token, an
    accidental with no note (and the length after it: ``=3`` of the e-mail artefact
    ``=3D``, ``^3^F``) or one stray character (``}``, ``,``), so the notes around it
    stay, as abc2midi keeps them."""
    lone = _LONE_ACCIDENTAL.match(line, pos)
    return lone.end() if lone is not None else pos + 1


class BodyReader:
    """Reads the fields and music lines of one tune into its voices.

    Args:
        key: the header's key. meter: the header's meter. unit: the header's ``L:``
        (None: derived from the meter). propagate: how accidentals carry through a bar,
        ``"pitch"`` (the default: same letter, any octave), ``"octave"`` (same letter
        and octave) or ``"not"`` (``%%propagate-accidentals``, ABC 2.1 §11.3).
    """

    def __init__(
        self,
        key: KeySpec,
        meter: tuple[int, int] | None,
        unit: Fraction | None,
        propagate: str = DEFAULT_PROPAGATE,
    ) -> None:
        self.key, self.meter, self.propagate = key, meter, propagate
        self.unit_set = unit is not None
        self.unit = (unit or default_unit(meter)) * _QUARTERS_PER_WHOLE
        self.voices: dict[str, Voice] = {}
        self.voice = self._voice("")
        self.recover = False  # drop what cannot be read instead of raising
        self.problems: list[tuple[int, str]] = []  # (column, message) dropped on this line
        self._after_bar = False  # the last music line ended with a bar line
        self._pos = 0

    def _voice(self, name: str) -> Voice:
        voice = self.voices.get(name)
        if voice is None:
            voice = Voice(self.unit, self.meter, self.key.alters)
            self.voices[name] = voice
        return voice

    # --- fields -----------------------------------------------------------------------
    def field(self, letter: str, value: str) -> None:
        """A field line or inline field in the body; lyrics, notes and the like are ignored."""
        voice = self.voice
        if letter == "K":
            voice.set_key(parse_key(value))
        elif letter == "M":
            voice.meter = parse_meter(value)
            if voice.meter is not None:
                voice.meters.append((voice.time, voice.meter))
        elif letter == "L":
            voice.set_unit(parse_unit(value) * _QUARTERS_PER_WHOLE)
        elif letter == "Q":
            qpm = parse_tempo(value, voice.unit / _QUARTERS_PER_WHOLE)
            if qpm is not None:
                voice.tempos.append((voice.time, qpm))
        elif letter == "V":
            name = value.split("%", 1)[0].split()
            if name:
                self.declare_voice(name[0])
        elif letter == "P" and value.strip():
            voice.parts.append(PartLabel(voice.time, len(voice.markers), value.strip()[0]))

    def declare_voice(self, name: str) -> None:
        """``V:`` switches to a voice; the first named voice takes the music before it."""
        if name not in self.voices and "" in self.voices and not self.voices[""].notes:
            self.voices[name] = self.voices.pop("")
        self.voice = self._voice(name)

    # --- music lines ------------------------------------------------------------------
    def music_line(self, line: str) -> None:
        """Read one music line (comments already stripped).

        With ``recover`` set, a token that cannot be read is dropped and noted in
        ``problems`` as ``(column, message)``, and the rest of the line is read.

        Raises:
            FieldError: at the first thing that is not ABC music, unless ``recover``.
        """
        pos = self._line_start_ending(line) if self._after_bar and self.recover else 0
        self._after_bar = _ENDS_IN_BAR.search(line) is not None
        while True:
            try:
                self._scan(line, pos)
                return
            except FieldError as exc:
                if not self.recover:
                    raise
                pos = _token_start(line, self._pos)
                self.problems.append((pos + 1, str(exc)))
                m = tk.TOKEN.match(line, pos)
                if m is not None and m.end() > pos:
                    pos = m.end()  # a token that reads but makes no sense: drop it
                elif line[pos] in _OPENERS:
                    pos += 1  # an unclosed [ { or ": drop the opener, keep what follows
                else:
                    pos = _skip_bad(line, pos)

    def _line_start_ending(self, line: str) -> int:
        """Read an ending number at the start of ``line`` as the ending of the bar line
        that ended the line before (noted in ``problems``); where the music starts."""
        m = _LINE_ENDING.match(line)
        if m is None or int(max(re.split("[,-]", m.group()), key=int)) > MAX_ENDING_NUMBER:
            return 0
        voice = self.voice
        voice.markers.append(Marker(voice.time, ENDING, tk.ending_numbers(m.group())))
        self.problems.append((1, f"ending {m.group()} at the start of a line read as the "
                                 "ending of the bar line before it"))  # fmt: skip
        return m.end()

    def _scan(self, line: str, pos: int) -> None:
        """Read tokens from ``pos``; at an error ``self._pos`` is where its token starts."""
        handlers, m = self._HANDLERS, None
        try:
            for m in tk.SCAN.finditer(line, pos):
                kind = m.lastgroup
                if kind == "note":  # the hot path, inlined
                    head, text, tie = m.group("head", "len", "tie")
                    voice = self.voice
                    pitch = None if voice.bar_alters else voice.key_pitches.get(head)
                    if pitch is None:
                        pitch = self._note_pitch(m, voice)
                    plain = voice.next_factor is None and not voice.tuplet_left
                    dur = voice.lengths.get(text) if plain else None
                    if dur is None:
                        dur = voice.ticks_of(text)
                    voice.place_one(pitch, dur, tie == "-")
                else:
                    handler = handlers.get(kind)
                    if handler is not None:
                        handler(self, m)
        except FieldError:
            self._pos = m.start()
            raise

    def _note_pitch(self, m, voice: Voice) -> int:
        """The pitch of a scanned note; a letter with no accidental of its own, read while
        the bar has none, depends on the key alone and is kept in ``voice.key_pitches``."""
        acc, letter, octave = m.group("acc", "letter", "oct")
        pitch = self._pitch(acc, letter, octave)
        if acc is None and not voice.bar_alters:
            voice.key_pitches[m.group("head")] = pitch
        return pitch

    def _pitch(self, acc: str | None, letter: str, octave: str) -> int:
        pitch = tk.BASE_PITCH[letter]
        if octave:
            pitch += 12 * (octave.count("'") - octave.count(","))
        voice = self.voice
        slot = pitch if self.propagate == "octave" else letter.upper()
        if acc is not None:
            alter = tk.ALTER[acc]
            if self.propagate != "not":
                voice.bar_alters[slot] = alter
        else:
            alter = voice.bar_alters.get(slot) if voice.bar_alters else None
            if alter is None:
                alter = voice.alters.get(letter.upper(), 0)
        if not 0 <= pitch + alter <= 127:  # after the accidental: ^^g'''' is 129
            raise FieldError(f"pitch {acc or ''}{letter}{octave} is outside MIDI's range 0-127")
        return pitch + alter

    def _rest(self, m) -> None:
        self.voice.rest(self.voice.ticks_of(m.group("rlen")))

    def _multi_rest(self, m) -> None:
        voice, bars = self.voice, m.group("bars")
        if len(bars) > MAX_NUMBER_DIGITS or int(bars or 1) > MAX_REST_BARS:
            raise FieldError(f"multi-bar rest Z{bars[:20]} is longer than {MAX_REST_BARS} bars")
        voice.rest(voice.bar_length() * int(bars or 1))

    def _chord(self, m, body: str | None = None) -> None:
        body = m.group("cbody") if body is None else body
        pitches, lengths, pos = [], [], 0
        # match, not finditer: a search from every position is quadratic on "[....]"
        while (note := tk.CHORD_NOTE.match(body, pos)) is not None:
            pitches.append(
                (self._pitch(*note.group("acc", "letter", "oct")), bool(note.group("tie")))
            )
            lengths.append(tk.length(note.group("len")))
            pos = note.end()
        if tk.CHORD_REST.fullmatch(body, pos) is None:
            if not self.recover or not _REST_IN_CHORD.search(body):
                raise FieldError(f"cannot read chord [{body}]")
            # [C2z2]: abc2midi plays the notes; the rest is dropped, with a note of it
            self.problems.append((m.start("chord") + 1, f"rest in chord [{body}] dropped"))
            return self._chord(m, _REST_IN_CHORD.sub("", body))
        if not pitches:
            return
        if m.group("ctie"):
            pitches = [(p, True) for p, _ in pitches]
        # ABC 2.1 4.17: the chord lasts as long as its first note.
        voice = self.voice
        voice.place(pitches, voice.duration(lengths[0] * tk.length(m.group("clen"))))

    def _bar(self, m) -> None:
        voice, text = self.voice, m.group("bar")
        voice.bar_line()
        if text == "|":  # the common bar line: no repeat sign, no ending
            return
        bar = text.rstrip("0123456789,-")
        if bar.startswith(":"):
            voice.markers.append(Marker(voice.time, END))
        if bar.endswith(":") or bar == "::":
            voice.markers.append(Marker(voice.time, START))
        elif bar.strip(":") in _CLOSING_BARS:
            voice.markers.append(Marker(voice.time, CLOSE))
        if m.group("bnum"):
            voice.markers.append(Marker(voice.time, ENDING, tk.ending_numbers(m.group("bnum"))))

    def _ending(self, m) -> None:
        voice = self.voice
        voice.markers.append(Marker(voice.time, ENDING, tk.ending_numbers(m.group("enums"))))

    def _inline_field(self, m) -> None:
        self.field(m.group("fkey"), m.group("fval"))

    def _tuplet(self, m) -> None:
        p, q, r = m.group("tp", "tq", "tr")
        if max(len(p), len(q or ""), len(r or "")) > MAX_NUMBER_DIGITS:
            raise FieldError(f"tuplet ({m.group('tuplet')[1:20]} has a number too long")
        p = int(p)
        if p < 2 or p > 9 and not q:
            raise FieldError(f"impossible tuplet ({m.group('tuplet')[1:]}")
        if q:
            q = int(q)
        else:
            compound = self.voice.meter is not None and self.voice.meter[0] % 3 == 0
            compound = compound and self.voice.meter[0] > 3
            q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
        r = int(r) if r else p
        if q == 0 or r == 0:
            raise FieldError(f"impossible tuplet ({m.group('tuplet')[1:]}")
        voice = self.voice
        voice.tuplet_factor, voice.tuplet_left, voice.tuplet_size = Fraction(q, p), r, r

    def _broken(self, m) -> None:
        self.voice.apply_broken(*tk.broken(m.group("broken")))

    def _gchord(self, m) -> None:
        text = m.group("gtext")
        if text and text[0] not in "^_<>@":  # those are annotations, not chord symbols
            self.voice.chords.append((self.voice.time, text))

    def _tie(self, m) -> None:
        self.voice.tie_last()

    def _overlay(self, m) -> None:
        self.voice.overlay()

    def _bad(self, m) -> None:
        _unreadable(m)

    # token kind -> handler: plain functions, as bound methods kept on the reader would make
    # it a reference cycle that holds every note list until the cycle collector runs
    _HANDLERS = {
        "rest": _rest, "mrest": _multi_rest, "bar": _bar, "ending": _ending,
        "field": _inline_field, "chord": _chord, "tuplet": _tuplet, "broken": _broken,
        "gchord": _gchord, "lonetie": _tie, "overlay": _overlay, "bad": _bad,
    }  # fmt: skip
