"""Train/validation/test splits by document (tune or file), never by window.

Each document draws a number from a hash of the seed and its notes, so its split depends
only on its own notes and the seed: a tune keeps its split when the corpus grows. Exact
duplicates were already removed when the cache was built, so no tune is in two splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def _uniform(seed: int, key: str) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_documents(
    notes_hashes: Sequence[str], val_fraction: float, test_fraction: float, seed: int = 0
) -> dict[str, np.ndarray]:
    """Document indices of each split.

    Args:
        notes_hashes: one digest per document (``Document.notes_hash``).
        val_fraction: expected share of documents in validation.
        test_fraction: expected share in test.
        seed: changes the assignment.

    Returns:
        ``{"train": idx, "val": idx, "test": idx}``, each sorted. A split with a positive
        fraction gets at least one document when there are three or more, so a tiny corpus
        still validates.
    """
    if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):
        raise ValueError(f"bad split fractions: val={val_fraction}, test={test_fraction}")
    u = np.array([_uniform(seed, h) for h in notes_hashes])
    which = np.where(u < test_fraction, 2, np.where(u < test_fraction + val_fraction, 1, 0))
    if len(u) >= 3:
        for split, frac in ((2, test_fraction), (1, val_fraction)):
            if frac > 0 and not (which == split).any():
                candidates = np.flatnonzero(which == 0)
                which[candidates[np.argmin(u[candidates])]] = split
    return {name: np.flatnonzero(which == i) for i, name in enumerate(SPLITS)}
