"""Prompts for continuation: load and cut a MIDI or ABC file, fit it to the tokenizer's
range, and join a generated continuation behind it.

Bars are counted from the first full bar: a piece with an upbeat (``score.pickup > 0``)
keeps its pickup as a partial bar 0, so "the first 4 bars" are the pickup plus 4 full
bars, and the continuation starts on a bar line exactly as the tune would.
"""

from __future__ import annotations

import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from musicgen.music import MusicFormatError, Score, read_midi
from musicgen.music.abc import read_abc_book
from musicgen.music.edit import truncate
from musicgen.music.score import pitch_name
from musicgen.music.timeline import bar_line_after, bar_line_at_or_after, quarters_at

MIDI_SUFFIXES = (".mid", ".midi")
ABC_SUFFIXES = (".abc", ".abc.gz")


class PromptError(ValueError):
    """A prompt file that is missing, unreadable, of an unknown kind, or empty after cutting."""


def load_prompt(
    path: str | os.PathLike,
    prompt_bars: int | None = None,
    prompt_seconds: float | None = None,
) -> Score:
    """Read a prompt and keep its beginning.

    Args:
        path: a ``.mid``/``.midi`` file, or an ``.abc`` (or ``.abc.gz``) file whose first
            readable tune is the prompt.
        prompt_bars: keep the first N bars (after any pickup, see the module docstring).
        prompt_seconds: keep the first S seconds, through the tempo map. Give at most one
            of ``prompt_bars`` and ``prompt_seconds``; with neither the whole piece is kept.

    Returns:
        The prompt. Notes that start before the cut are kept, their durations truncated
        at the cut; tempo, meter and chord-symbol changes after the cut are dropped.

    Raises:
        PromptError: one line naming the file and the problem (missing file, unknown
            suffix, unreadable content, both or a non-positive length, no notes left).
    """
    path = Path(path)
    return cut_prompt(_read(path), prompt_bars, prompt_seconds, source=str(path))


def cut_prompt(
    score: Score,
    prompt_bars: int | None = None,
    prompt_seconds: float | None = None,
    source: str = "prompt",
) -> Score:
    """Keep the beginning of ``score`` as :func:`load_prompt` does (``source`` names it in
    errors).

    Raises:
        PromptError: for both or a non-positive length, or when no notes are left.
    """
    if prompt_bars is not None and prompt_seconds is not None:
        raise PromptError(f"{source}: give prompt_bars or prompt_seconds, not both")
    if prompt_bars is not None:
        if prompt_bars < 1:
            raise PromptError(f"{source}: prompt_bars must be at least 1, got {prompt_bars}")
        score = truncate(score, bar_line_after(score, prompt_bars))
        what = f"the first {prompt_bars} bar(s)"
    elif prompt_seconds is not None:
        if prompt_seconds <= 0:
            raise PromptError(f"{source}: prompt_seconds must be positive, got {prompt_seconds}")
        score = truncate(score, quarters_at(score, prompt_seconds))
        what = f"the first {prompt_seconds} second(s)"
    else:
        what = "the file"
    if not score.notes:
        raise PromptError(f"{source}: no notes in {what}")
    return score


def _read(path: Path) -> Score:
    """The file's Score (an ABC book's first readable tune); PromptError on any failure."""
    name = path.name.lower()
    if not name.endswith(MIDI_SUFFIXES + ABC_SUFFIXES):
        raise PromptError(
            f"{path}: unknown prompt format {path.suffix or '(no suffix)'!r}; "
            "expected .mid, .midi or .abc"
        )
    if not path.is_file():
        raise PromptError(f"{path}: no such file")
    if name.endswith(MIDI_SUFFIXES):
        try:
            return read_midi(path)
        except (MusicFormatError, OSError) as exc:
            message = getattr(exc, "message", str(exc))
            raise PromptError(f"{path}: not a readable MIDI file ({message})") from exc
    book = read_abc_book(path, expand_repeats=True)  # a prompt is heard as it is played
    if not book.tunes:
        reason = book.errors[0].message if book.errors else "no X: line"
        raise PromptError(f"{path}: no readable ABC tune ({_one_line(reason)})")
    return book.tunes[0]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def fit_to_range(score: Score, low: int, high: int) -> tuple[Score, list[str]]:
    """Bring every pitched note into ``low..high`` (the tokenizer's pitch range).

    When the whole pitched part fits after a shift by whole octaves, it is transposed
    by the smallest such shift (the key stays); otherwise only the notes outside the
    range are moved by octaves into it (clipped to the edge when the range is narrower
    than an octave). Drum notes are untouched.

    Returns:
        The fitted score and the warnings to show the user (empty when nothing moved).
    """
    pitches = [n.pitch for n in score.notes if not n.is_drum]
    if not pitches or (low <= min(pitches) and max(pitches) <= high):
        return score, []
    lowest, highest = min(pitches), max(pitches)
    span = f"prompt pitches {pitch_name(lowest)}..{pitch_name(highest)}"
    limits = f"the tokenizer's range {pitch_name(low)}..{pitch_name(high)} ({low}..{high})"
    shifts = [12 * k for k in range(-10, 11) if low <= lowest + 12 * k and highest + 12 * k <= high]
    if shifts:
        shift = min(shifts, key=abs)
        octaves = f"{shift // 12:+d} octave(s)"
        return score.transposed(shift), [f"{span} lie outside {limits}: transposed {octaves}"]
    notes = [
        n if n.is_drum else replace(n, pitch=_into_range(n.pitch, low, high)) for n in score.notes
    ]
    moved = sum(not low <= p <= high for p in pitches)
    warning = f"{span} do not fit {limits}: moved {moved} note(s) by octaves into range"
    return replace(score, notes=notes), [warning]


def _into_range(pitch: int, low: int, high: int) -> int:
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return min(max(pitch, low), high)  # a range narrower than an octave can be overshot


def prompt_end(prompt: Score) -> Fraction:
    """Where a continuation starts: the first bar line at or after the prompt's last note end.

    For a prompt cut to N bars this is the cut; for a prompt cut to S seconds it is the
    end of the bar the cut falls in, so the continuation starts on a bar line. An empty
    prompt ends at 0. (A cut whose last bars are wholly silent ends after the last note's
    bar: the silence is not kept.)
    """
    if not prompt.notes:
        return Fraction(0)
    return bar_line_at_or_after(prompt, prompt.end)


def join_continuation(prompt: Score, continuation: Score) -> Score:
    """The prompt's notes unchanged, then the continuation from :func:`prompt_end` on.

    The result keeps the prompt's tempo map, meter map, key, title, chord symbols and
    pickup. Continuation notes keep their own program (the tokenizer's ``Program``
    tokens), except that when the prompt's pitched notes all use one program ``p != 0``
    and a continuation note has program 0 (a tokenizer without programs), it takes ``p``,
    so a violin prompt is not continued by a piano.

    Args:
        prompt: the prompt as given to the model (after :func:`fit_to_range`).
        continuation: the generated notes, timed from 0 at the continuation's start.
    """
    offset = prompt_end(prompt)
    programs = {n.program for n in prompt.notes if not n.is_drum}
    target = programs.pop() if len(programs) == 1 else 0
    shifted = [
        replace(
            n,
            start=n.start + offset,
            program=target if (n.program == 0 and not n.is_drum) else n.program,
        )
        for n in continuation.notes
    ]
    return replace(
        prompt,
        notes=list(prompt.notes) + shifted,
        time_signatures=list(prompt.time_signatures),
        tempos=list(prompt.tempos),
        chord_symbols=list(prompt.chord_symbols),
    )
