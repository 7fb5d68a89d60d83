"""One source file → token documents (a tune or a MIDI file each) plus skip reasons.

This runs inside the preparation worker processes, so it imports no torch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.data.sources import kind_of
from musicgen.music import MusicFormatError, Score, read_midi
from musicgen.music.abc.reader import iter_abc_tunes


@dataclass
class Document:
    """One tune (ABC) or one file (MIDI) as token ids."""

    ids: np.ndarray  # (n_tokens,) int64
    tune: str  # the tune's X: number, or "" for MIDI
    title: str
    notes_hash: str  # identifies the notes, for removing exact duplicates
    n_notes: int


@dataclass
class FileResult:
    """What one source file gave: its documents and what was skipped, with reasons."""

    path: str
    sha256: str
    documents: list[Document] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    # tunes kept with an unreadable token dropped (note tokens), each with the reason
    repaired: list[dict] = field(default_factory=list)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def notes_hash(score: Score) -> str:
    """A digest of (pitch, onset, duration) of every note: equal for tunes with the same notes."""
    h = hashlib.sha1()
    for n in score.notes:
        h.update(f"{n.pitch},{n.start},{n.duration};".encode())
    return h.hexdigest()


def read_documents(path: str, tokenizer, expand_repeats: bool = False) -> FileResult:
    """Read and tokenize one file; nothing raised escapes except for programming errors.

    Args:
        path: an ABC or MIDI file.
        tokenizer: a ``NoteTokenizer`` (encodes a ``Score``) or a ``CharTokenizer``
            (encodes the tune's ABC text; only tunes our reader accepts are kept, so that
            every character-level document is a valid tune).
        expand_repeats: ABC only: expand repeats and endings into the played order.
    """
    result = FileResult(path=str(path), sha256=file_sha256(path))
    try:
        if kind_of(path) == "midi":
            _add(result, read_midi(path), "", tokenizer, text=None)
        else:
            _read_abc_documents(result, path, tokenizer, expand_repeats)
    except (MusicFormatError, OSError, ValueError) as e:
        result.skipped.append({"path": str(path), "tune": "", "reason": str(e)})
    return result


def _read_abc_documents(result: FileResult, path: str, tokenizer, expand_repeats: bool) -> None:
    """A tune with an unreadable token is kept without it when the model sees notes (the
    token is recorded in ``repaired``); a character-level corpus skips it instead, since
    its documents are the ABC text itself and must read back without loss."""
    text_level = tokenizer.kind == "abc"
    dropped: list[MusicFormatError] = []
    tunes = list(iter_abc_tunes(path, expand_repeats, warnings=dropped))  # one book
    problems: dict[str, list[str]] = {}
    for w in dropped:
        problems.setdefault(w.tune, []).append(f"line {w.line}: {w.message}")
    for text, tune in tunes:
        where = {"path": str(path), "tune": text.number}
        if isinstance(tune, MusicFormatError):
            result.skipped.append(where | {"reason": tune.message})
            continue
        found = "; ".join(problems.get(text.label, ()))
        if found and text_level:
            result.skipped.append(where | {"reason": f"unreadable token: {found}"})
            continue
        if found:
            result.repaired.append(where | {"reason": found})
        _add(result, tune, text.number, tokenizer, text=text.text if text_level else None)
    if not tunes:  # an empty file, random bytes, prose: say so rather than keep silent
        empty = Path(path).stat().st_size == 0
        reason = "empty file" if empty else "no tunes (no X: line starts a tune)"
        result.skipped.append({"path": str(path), "tune": "", "reason": reason})


def _add(result: FileResult, score: Score, tune: str, tokenizer, text: str | None) -> None:
    if not score.notes:
        result.skipped.append({"path": result.path, "tune": tune, "reason": "no notes"})
        return
    try:
        ids = tokenizer.encode(text if text is not None else score)
    except MusicFormatError as e:  # a tune past the tokenizer's limits; the file goes on
        result.skipped.append({"path": result.path, "tune": tune, "reason": str(e)})
        return
    doc = Document(
        ids=np.asarray(ids, dtype=np.int64),
        tune=tune,
        title=score.title,
        notes_hash=notes_hash(score),
        n_notes=len(score.notes),
    )
    result.documents.append(doc)
