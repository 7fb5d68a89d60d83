"""Where a corpus's files are: named corpora, globs and explicit lists.

No torch here: worker processes import this module.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path

# The embedded default corpus: folk music that music21 ships in its own corpus, so the
# demo needs no download. Essen folksongs (Schaffrath 1995), O'Neill's 1850, Ryan's Mammoth.
FOLK_COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth")

_SUFFIXES = {
    "abc": (".abc", ".abc.gz"),
    "midi": (".mid", ".midi", ".smf"),
}


class CorpusNotFoundError(FileNotFoundError):
    """A named corpus or a file pattern that matches nothing."""


def music21_corpus_dir() -> Path:
    """The folder of music21's bundled corpus, found without importing music21 (slow)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusNotFoundError("music21 is not installed; it ships the embedded folk corpus")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def folk_files() -> list[Path]:
    """Every ABC file of the embedded folk corpus, in a stable order."""
    root = music21_corpus_dir()
    files: list[Path] = []
    for name in FOLK_COLLECTIONS:
        files.extend(sorted((root / name).glob("*.abc")))
    if not files:
        raise CorpusNotFoundError(f"no ABC files under {root} for {', '.join(FOLK_COLLECTIONS)}")
    return files


def kind_of(path: str | os.PathLike) -> str:
    """``"abc"`` or ``"midi"`` from a file name.

    Raises:
        ValueError: for a suffix that is neither.
    """
    name = str(path).lower()
    for kind, suffixes in _SUFFIXES.items():
        if name.endswith(suffixes):
            return kind
    raise ValueError(f"{path}: not an ABC (.abc, .abc.gz) or MIDI (.mid, .midi) file")


def resolve_files(patterns: str | Sequence[str], kind: str | None = None) -> list[Path]:
    """Expand a glob (``**`` recurses), a folder, a file, or a list of them.

    Args:
        patterns: one pattern or several; ``~`` and environment variables are expanded.
        kind: keep only files of this kind (``"abc"`` or ``"midi"``); folders are searched
            for it recursively.

    Returns:
        Existing files, sorted and without repeats.

    Raises:
        CorpusNotFoundError: when a pattern matches no file.
    """
    found = expand_patterns(patterns, lambda p: _expand_one(p, kind), kind or "music")
    return [found[k] for k in sorted(found)]


def expand_patterns(
    patterns: str | os.PathLike | Sequence[str], expand: Callable[[str], list[str]], what: str
) -> dict[str, Path]:
    """Each pattern (``~`` and environment variables expanded) through ``expand``; the
    files found, by absolute path without repeats, in the order found.

    Raises:
        CorpusNotFoundError: when a pattern matches no file.
    """
    if isinstance(patterns, str | os.PathLike):
        patterns = [patterns]
    found: dict[str, Path] = {}
    for pattern in patterns:
        pattern = os.path.expandvars(os.path.expanduser(str(pattern)))
        matches = expand(pattern)
        if not matches:
            raise CorpusNotFoundError(f"no {what} files match {pattern!r}")
        for m in matches:
            found.setdefault(os.path.abspath(m), Path(m))
    return found


def _expand_one(pattern: str, kind: str | None) -> list[str]:
    if os.path.isdir(pattern):
        suffixes = _SUFFIXES[kind] if kind else sum(_SUFFIXES.values(), ())
        return [
            os.path.join(root, f)
            for root, _, names in os.walk(pattern)
            for f in names
            if f.lower().endswith(suffixes)
        ]
    matches = [m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m)]
    if kind:
        matches = [m for m in matches if m.lower().endswith(_SUFFIXES[kind])]
    return matches
