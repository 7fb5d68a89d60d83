"""The public entry points: a path or text in, Scores (and the reasons for skips) out."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from musicgen.music.abc.source import AbcTuneText, file_header, load_abc_source, split_abc_tunes
from musicgen.music.abc.tune import file_defaults, read_tune
from musicgen.music.errors import AbcParseError
from musicgen.music.score import Score

log = logging.getLogger(__name__)


@dataclass
class AbcBook:
    """A tune book read as far as it goes.

    Attributes:
        tunes: the Scores of the tunes that could be read, in file order.
        errors: one :class:`AbcParseError` per tune that could not be read.
        warnings: one :class:`AbcParseError` per thing dropped inside a tune that was
            read (an unreadable token, a bad field), naming the tune, line and column.
        texts: every tune's raw text, readable or not (for character-level models).
    """

    tunes: list[Score] = field(default_factory=list)
    errors: list[AbcParseError] = field(default_factory=list)
    warnings: list[AbcParseError] = field(default_factory=list)
    texts: list[AbcTuneText] = field(default_factory=list)


def iter_abc_tunes(
    source: str | os.PathLike,
    expand_repeats: bool = False,
    *,
    strict: bool = False,
    warnings: list[AbcParseError] | None = None,
) -> Iterator[tuple[AbcTuneText, Score | AbcParseError]]:
    """Yield ``(tune text, Score or AbcParseError)`` per tune, in file order.

    Args:
        source: a path or ABC text.
        expand_repeats: play repeats, endings and parts instead of the written order.
        strict: a tune with any unreadable token is an error; otherwise the token is
            dropped and the rest of the tune read (one bad token costs one token).
        warnings: where the dropped tokens are recorded; None logs them.

    Raises:
        AbcParseError: only when the file itself cannot be read.
    """
    text, name = load_abc_source(source)
    defaults = file_defaults(file_header(text))
    for tune in split_abc_tunes(text):
        found: list[AbcParseError] | None = None if strict else []
        try:
            yield tune, read_tune(tune, name, defaults, expand_repeats, found)
        except AbcParseError as exc:
            yield tune, exc
        except (ValueError, ArithmeticError, LookupError) as exc:  # a bug must not sink a book
            yield tune, AbcParseError(f"unreadable: {exc!r}", name, tune.label, tune.line)
        for problem in found or ():
            if warnings is None:
                log.warning("dropped: %s", problem)
            else:
                warnings.append(problem)


def read_abc_book(source: str | os.PathLike, *, expand_repeats: bool = False) -> AbcBook:
    """Read every tune of an ABC file or string, keeping the errors beside the tunes.

    Args:
        source: a path (``.abc`` or gzip ``.abc.gz``), or ABC text (a string that holds a
            newline or starts with a field such as ``X:``).
        expand_repeats: play repeats and endings instead of keeping the written order.

    Returns:
        An :class:`AbcBook`; it never raises for bad content. A file that cannot be
        opened gives a book with one error and no tunes.
    """
    book = AbcBook()
    try:
        for tune, result in iter_abc_tunes(source, expand_repeats, warnings=book.warnings):
            book.texts.append(tune)
            if isinstance(result, AbcParseError):
                book.errors.append(result)
            else:
                book.tunes.append(result)
    except AbcParseError as exc:
        book.errors.append(exc)
    return book


def read_abc(
    source: str | os.PathLike, *, strict: bool = False, expand_repeats: bool = False
) -> list[Score]:
    """Every readable tune of an ABC file or string, as Scores in file order.

    Args:
        source: a path (``.abc`` or ``.abc.gz``) or ABC text.
        strict: raise the first problem, even one token that cannot be read, instead of
            dropping the token (or skipping the tune) with a logged warning.
        expand_repeats: play repeats and endings instead of keeping the written order.

    Raises:
        AbcParseError: with ``strict=True``, for the first unreadable tune or file.
    """
    scores = []
    try:
        for _tune, result in iter_abc_tunes(source, expand_repeats, strict=strict):
            if isinstance(result, AbcParseError):
                if strict:
                    raise result
                log.warning("skipping tune: %s", result)
            else:
                scores.append(result)
    except AbcParseError as exc:
        if strict:
            raise
        log.warning("skipping file: %s", exc)
    return scores
