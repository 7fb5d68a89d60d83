"""Corpora, the token cache and the Lightning data modules.

The cache and the corpus readers import no torch (worker processes use them); the data
modules do, so they load on first use.
"""

from __future__ import annotations

from musicgen.data.cache import TokenCache, prepare_cache
from musicgen.data.sources import CorpusNotFoundError, folk_files, resolve_files
from musicgen.data.splits import split_documents

__all__ = [
    "CorpusNotFoundError",
    "HarmonyDataModule",
    "MusicDataModule",
    "TextDataModule",
    "TokenCache",
    "folk_files",
    "prepare_cache",
    "resolve_files",
    "split_documents",
]


def __getattr__(name: str):
    if name == "MusicDataModule":
        from musicgen.data.music_datamodule import MusicDataModule

        return MusicDataModule
    if name == "HarmonyDataModule":
        from musicgen.data.pairs import HarmonyDataModule

        return HarmonyDataModule
    if name == "TextDataModule":
        from musicgen.data.text import TextDataModule

        return TextDataModule
    raise AttributeError(f"module 'musicgen.data' has no attribute {name!r}")
