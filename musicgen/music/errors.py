"""Errors raised while reading music files.

Every reading error is a :class:`MusicFormatError` (a ``ValueError``), so a caller that
wants to skip bad input catches one type, and the message always names the file.
"""

from __future__ import annotations


class MusicFormatError(ValueError):
    """Base of every error raised while reading a music file or string."""


class AbcParseError(MusicFormatError):
    """A tune (or a whole ABC file) that cannot be read.

    Args:
        message: what is wrong.
        source: the file path, or ``"<string>"`` for text.
        tune: the tune's ``X:`` number and title, e.g. ``"X:3 The Kesh"``.
        line: 1-based line number in the source, when known.
    """

    def __init__(
        self, message: str, source: str = "<string>", tune: str = "", line: int | None = None
    ) -> None:
        self.message = message
        self.source = source
        self.tune = tune
        self.line = line
        where = source
        if line is not None:
            where += f", line {line}"
        if tune:
            where += f", tune {tune}"
        super().__init__(f"{where}: {message}")


class MidiFormatError(MusicFormatError):
    """A MIDI file that is corrupt, truncated or not a Standard MIDI File."""

    def __init__(self, message: str, source: str = "<bytes>") -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}")


class ScoreLimitError(MusicFormatError):
    """A Score too large to process, e.g. one that spans more than the note tokenizer
    encodes (see :mod:`musicgen.music.limits`)."""
