"""``CharTokenizer``: one id per character: the classic char-RNN setup for ABC text, and
character-level text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from musicgen.tokenizers.base import (
    BOS,
    EOS,
    PAD,
    load_tokenizer,
    register_tokenizer,
    save_tokenizer,
)

UNK = "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
# The default alphabet: printable ASCII plus newline, which covers ABC 2.1 (the lab's
# irish.abc uses 83 of these). A fixed default keeps the cache key independent of the
# corpus; ``CharTokenizer.fit`` builds a corpus-specific one instead.
ASCII_CHARS = "\n" + "".join(chr(c) for c in range(32, 127))
CHAR_KINDS = ("abc", "text")


@register_tokenizer("char")
class CharTokenizer:
    """Characters of a text (an ABC tune) <-> ids; the vocabulary comes from a corpus.

    Ids 0-3 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``; then the corpus characters in
    sorted order. Unknown characters encode as ``<unk>``; decoding drops special ids.

    Args:
        chars: the characters with an id (duplicates and order do not matter); default:
            printable ASCII and newline.
        add_bos_eos: wrap every encoded text in ``<bos>`` ... ``<eos>``, so that documents
            in a flat token cache are delimited like note sequences are.
        kind: what the characters are: ``"abc"`` (ABC tunes, the default: samples are read
            back as music) or ``"text"`` (plain text: samples are printed).
    """

    def __init__(
        self, chars: Iterable[str] | None = None, add_bos_eos: bool = True, kind: str = "abc"
    ) -> None:
        chars = sorted(set(ASCII_CHARS if chars is None else chars))
        if any(len(c) != 1 for c in chars):
            raise ValueError("CharTokenizer characters must be single characters")
        if kind not in CHAR_KINDS:
            raise ValueError(f"CharTokenizer kind must be one of {CHAR_KINDS}, not {kind!r}")
        self._vocab = [*SPECIALS, *chars]
        self._ids = {c: i for i, c in enumerate(self._vocab) if i >= len(SPECIALS)}
        self.add_bos_eos = add_bos_eos
        self.kind = kind

    @classmethod
    def fit(
        cls, texts: Iterable[str], add_bos_eos: bool = True, kind: str = "text"
    ) -> CharTokenizer:
        """A tokenizer whose vocabulary is every character seen in ``texts`` (a text
        corpus's training split, hence ``kind="text"`` by default)."""
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        return cls(seen, add_bos_eos=add_bos_eos, kind=kind)

    @property
    def vocab(self) -> list[str]:
        return list(self._vocab)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``; characters not in the vocabulary become ``<unk>``."""
        ids = [self._ids.get(c, self.unk_id) for c in text]
        return [self.bos_id, *ids, self.eos_id] if self.add_bos_eos else ids

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``; specials and out-of-range ids are dropped."""
        n, first = len(self._vocab), len(SPECIALS)
        return "".join(self._vocab[i] for i in map(int, ids) if first <= i < n)

    def to_dict(self) -> dict[str, Any]:
        d = {"type": "char", "chars": self._vocab[len(SPECIALS) :], "add_bos_eos": self.add_bos_eos}
        if self.kind != "abc":  # ABC, the default, is left out: older dicts (and caches) match
            d["kind"] = self.kind
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CharTokenizer:
        return cls(d["chars"], add_bos_eos=d.get("add_bos_eos", True), kind=d.get("kind", "abc"))

    def save(self, path: str | Path) -> None:
        save_tokenizer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        return load_tokenizer(path, expect=cls)
