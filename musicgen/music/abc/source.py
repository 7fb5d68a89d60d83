"""Loading ABC text from a path or a string, and splitting a tune book into tunes."""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path

from musicgen.music.errors import AbcParseError

# A field line: one letter, a colon. Text that starts with one is ABC, not a path.
_FIELD_START = re.compile(r"[A-Za-z]:")
_X_LINE = re.compile(r"^X:[ \t]*(.*)$", re.MULTILINE)
_T_LINE = re.compile(r"^T:[ \t]*(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class AbcTuneText:
    """One tune of a tune book, as written.

    Attributes:
        number: the ``X:`` value as written (stripped), e.g. ``"12"``.
        title: the first ``T:`` value, or ``""``.
        text: the tune's raw ABC text from its ``X:`` line on, header included.
        line: 1-based line number of the ``X:`` line in the file.
    """

    number: str
    title: str
    text: str
    line: int

    @property
    def label(self) -> str:
        """``"X:3 The Kesh"``: how errors name the tune."""
        return f"X:{self.number} {self.title}".strip()


def decode_abc_bytes(data: bytes) -> str:
    """Decode ABC bytes: UTF-8 (with or without BOM), else cp1252, else latin-1.

    latin-1 maps every byte, so decoding never fails; old tune books are mostly cp1252.
    """
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def is_abc_text(source: str) -> bool:
    """Whether a string passed as ``source`` is ABC text rather than a file path."""
    return "\n" in source or bool(_FIELD_START.match(source.lstrip()))


def load_abc_source(source: str | os.PathLike) -> tuple[str, str]:
    """Return ``(text, name)`` for a path (``.abc`` or gzip ``.abc.gz``) or ABC text.

    Raises:
        AbcParseError: if the file cannot be opened or is a broken gzip file.
    """
    if isinstance(source, str) and is_abc_text(source):
        return source, "<string>"
    path = Path(source)
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":  # gzip magic, whatever the suffix says
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile, ValueError) as exc:  # ValueError: a NUL byte
        raise AbcParseError(f"cannot read file: {exc}", source=str(path)) from exc
    return decode_abc_bytes(data), str(path)


def split_abc_tunes(text: str) -> list[AbcTuneText]:
    """Split a tune book into its tunes, each starting at an ``X:`` line.

    A tune runs to the next ``X:`` line (blank lines and free text between tunes stay
    with the tune before; trailing blank lines are dropped). Text before the first ``X:``
    is the file header, not a tune (see :func:`file_header`).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _X_LINE.finditer(text)]
    tunes = []
    line = text.count("\n", 0, starts[0]) + 1 if starts else 0
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        chunk = text[start:end].rstrip() + "\n"
        number = _X_LINE.match(chunk).group(1).split("%", 1)[0].strip()
        title = _T_LINE.search(chunk)
        tunes.append(AbcTuneText(number, title.group(1).strip() if title else "", chunk, line))
        line += text.count("\n", start, end)
    return tunes


def file_header(text: str) -> str:
    """The text before the first ``X:`` line (ABC 2.1 file header), ``""`` if none."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    m = _X_LINE.search(text)
    return text[: m.start()] if m else ""
