"""Text corpora on disk: a folder of split files (WikiText), or text files split by lines.

No torch here, and nothing is tokenized: this only finds, reads and splits the text.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musicgen.data.sources import CorpusNotFoundError, expand_patterns
from musicgen.tokenizers.word import split_lines

SPLITS = ("train", "val", "test")
# WikiText ships as valid.txt in PyTorch's example and as wiki.valid.tokens in the original
ROOT_FILES = {
    "train": ("train.txt", "wiki.train.tokens"),
    "val": ("valid.txt", "wiki.valid.tokens"),
    "test": ("test.txt", "wiki.test.tokens"),
}


class TextCorpusError(ValueError):
    """A text file that cannot serve as a corpus: empty, not UTF-8, too short to split."""


@dataclass
class TextCorpus:
    """The raw text of each split, and the files it came from."""

    texts: dict[str, str]  # "train" | "val" | "test" -> text
    sources: list[Path]
    digests: dict[str, str] = field(init=False)  # split -> sha256 of its text

    def __post_init__(self) -> None:
        self.digests = {
            split: hashlib.sha256(text.encode("utf-8")).hexdigest()
            for split, text in self.texts.items()
        }


def root_files(root: Path) -> dict[str, Path]:
    """Each split's file in a WikiText-style folder.

    Raises:
        CorpusNotFoundError: when the folder or a split's file is missing; the message
            says that ``data.download=true`` fetches WikiText-2.
    """
    hint = "data.download=true fetches WikiText-2 into it"
    if not root.is_dir():
        raise CorpusNotFoundError(f"{root}: no such folder of train/valid/test text ({hint})")
    found = {}
    for split, names in ROOT_FILES.items():
        path = next((root / n for n in names if (root / n).is_file()), None)
        if path is None:
            raise CorpusNotFoundError(
                f"{root}: no {' or '.join(names)} for the {split} split ({hint})"
            )
        found[split] = path
    return found


def read_root(root: str | Path, max_lines: int | None = None) -> TextCorpus:
    """The splits of a folder holding ``train.txt``, ``valid.txt``, ``test.txt``.

    Args:
        root: the folder.
        max_lines: keep only the first lines of each split (None: all).

    Raises:
        CorpusNotFoundError: for a missing folder or file.
        TextCorpusError: for an empty or undecodable file.
    """
    files = root_files(Path(root))
    texts = {split: first_lines(read_text(path), max_lines) for split, path in files.items()}
    return TextCorpus(texts, list(files.values()))


def read_files(
    patterns: str | Sequence[str],
    val_fraction: float,
    test_fraction: float,
    max_lines: int | None = None,
) -> TextCorpus:
    """Text files read one after another and cut by lines into train, val, test blocks.

    The blocks are contiguous and in file order (first the training lines, then the
    validation lines, then the test lines): prose is not shuffled, its order matters.

    Args:
        patterns: a file, a glob (``**`` recurses) or a list of them.
        val_fraction: share of lines for validation (at least one line when above 0).
        test_fraction: share of lines for testing (likewise).
        max_lines: keep only the first lines of each split (None: all).

    Raises:
        CorpusNotFoundError: when a pattern matches no file.
        TextCorpusError: for an empty or undecodable file, or too few lines to split.
    """
    files = text_files(patterns)
    parts = [read_text(f) for f in files]
    text = "".join(p if p.endswith("\n") else p + "\n" for p in parts)
    texts = split_by_lines(text, val_fraction, test_fraction, ", ".join(map(str, files)))
    return TextCorpus({s: first_lines(t, max_lines) for s, t in texts.items()}, files)


def text_files(patterns: str | Sequence[str]) -> list[Path]:
    """Expand files and globs (``~`` and environment variables too), keeping their order.

    Raises:
        CorpusNotFoundError: when a pattern matches no file.
    """
    def expand(pattern: str) -> list[str]:
        return sorted(m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m))

    return list(expand_patterns(patterns, expand, "text").values())


def read_text(path: Path) -> str:
    """A UTF-8 file's text (newlines normalised to ``"\\n"``, as Python reads text).

    Raises:
        TextCorpusError: when the file is empty or is not UTF-8.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise TextCorpusError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from e
    if not text.strip():
        raise TextCorpusError(f"{path}: the file is empty")
    return text


def split_by_lines(
    text: str, val_fraction: float, test_fraction: float, source: str
) -> dict[str, str]:
    """Cut ``text`` into contiguous train, val, test blocks of lines (each ends with ``\\n``).

    Raises:
        TextCorpusError: when the fractions leave no training line or are out of range.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1):
        raise TextCorpusError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must lie in [0, 1)"
        )
    lines = split_lines(text)
    n = len(lines)
    n_val = max(1, round(n * val_fraction)) if val_fraction else 0
    n_test = max(1, round(n * test_fraction)) if test_fraction else 0
    n_train = n - n_val - n_test
    if n_train < 1:
        raise TextCorpusError(
            f"{source}: {n} lines are too few for val_fraction={val_fraction} and"
            f" test_fraction={test_fraction} (no training line is left)"
        )
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n - n_test, n)}
    return {split: "".join(f"{line}\n" for line in lines[a:b]) for split, (a, b) in bounds.items()}


def first_lines(text: str, n: int | None) -> str:
    """The first ``n`` lines of ``text`` with their newlines (all of it for None)."""
    if n is None:
        return text
    end = 0
    for _ in range(n):
        end = text.find("\n", end) + 1
        if end == 0:
            return text
    return text[:end]
