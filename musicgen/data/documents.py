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
    text_level = getattr(tokenizer, "input_kind", "score") == "text"
    tunes = 0
    for text, tune in iter_abc_tunes(path, expand_repeats):
        tunes += 1
        if isinstance(tune, MusicFormatError):
            reason = {"path": str(path), "tune": text.number, "reason": tune.message}
            result.skipped.append(reason)
        else:
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
