"""``WordTokenizer``: one id per word, the vocabulary of the classic word-level benchmarks.

Follows the PyTorch ``word_language_model`` convention that WikiText-2 perplexities are
quoted in: every line contributes its whitespace-separated words plus one ``<eos>``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from musicgen.tokenizers.base import EOS, load_tokenizer, register_tokenizer, save_tokenizer

UNK = "<unk>"
SPECIALS = (UNK, EOS)
SPLITS = ("whitespace", "punctuation")
_PUNCTUATION = re.compile(r"\w+|[^\w\s]")  # runs of word characters, or one symbol


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their newlines; a final newline ends the last line.

    ``"a\\nb"`` and ``"a\\nb\\n"`` both have two lines; ``""`` has none; ``"\\n"`` has one
    (blank) line.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def count_words(text: str) -> int:
    """Whitespace-separated words plus one ``<eos>`` per line: the WikiText token count."""
    return len(text.split()) + len(split_lines(text))


@register_tokenizer("word")
class WordTokenizer:
    """Words of a text <-> ids; newlines are ``<eos>`` tokens.

    Ids 0 and 1 are ``<unk>`` and ``<eos>``, then the words in the given order. There is
    no padding or begin token: ``pad_id`` and ``bos_id`` are ``<eos>``'s id, so a sample
    may start right after an end of line. Unseen words encode as ``<unk>``; a literal
    ``<unk>`` in the text (WikiText has them) is the same token.

    Args:
        words: the vocabulary after the specials, most frequent first (as ``fit`` makes it);
            ``<unk>`` and ``<eos>`` in it are skipped.
        lower: lower-case text before splitting it.
        split: ``"whitespace"`` (already tokenized text such as WikiText) or
            ``"punctuation"`` (raw text: words and punctuation marks become separate tokens).

    Raises:
        ValueError: for an unknown ``split`` or a word listed twice.
    """

    kind = "text"  # encodes a string; samples are printed

    def __init__(
        self, words: Iterable[str], *, lower: bool = False, split: str = "whitespace"
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"WordTokenizer split must be one of {SPLITS}, not {split!r}")
        self._vocab = [*SPECIALS, *(w for w in words if w not in SPECIALS)]
        self._ids = {w: i for i, w in enumerate(self._vocab)}
        if len(self._ids) != len(self._vocab):
            repeated = next(w for w, n in Counter(self._vocab).items() if n > 1)
            raise ValueError(f"WordTokenizer vocabulary lists {repeated!r} twice")
        self.lower = lower
        self.split = split

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        *,
        lower: bool = False,
        split: str = "whitespace",
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> WordTokenizer:
        """The vocabulary of ``texts`` (the training text only): words by falling frequency.

        Args:
            texts: training texts.
            lower: lower-case before counting (and later before encoding).
            split: how lines become words (see the class).
            min_freq: keep words seen at least this often; rarer ones become ``<unk>``.
            max_size: keep at most this many ids in all, the two specials included.

        Raises:
            ValueError: for ``min_freq < 1`` or ``max_size < 2``.
        """
        if min_freq < 1:
            raise ValueError(f"WordTokenizer min_freq must be at least 1, not {min_freq}")
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(f"WordTokenizer max_size must be at least 2, not {max_size}")
        counter = cls([], lower=lower, split=split)
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(counter._words(text))
        # sorted() is stable and a Counter keeps first-seen order: ties stay in text order
        ranked = sorted(counts.items(), key=lambda wc: -wc[1])
        words = [w for w, n in ranked if n >= min_freq and w not in SPECIALS]
        if max_size is not None:
            words = words[: max_size - len(SPECIALS)]
        return cls(words, lower=lower, split=split)

    def _words(self, text: str) -> list[str]:
        """The words of ``text`` (any number of lines), after lower-casing if asked."""
        if self.lower:
            text = text.lower()
        return text.split() if self.split == "whitespace" else _PUNCTUATION.findall(text)

    @property
    def vocab(self) -> list[str]:
        return list(self._vocab)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    unk_id, eos_id = 0, 1
    pad_id = bos_id = eos_id

    def encode(self, text: str) -> list[int]:
        """Each line's word ids followed by ``<eos>``; unseen words become ``<unk>``.

        A text without a final newline still ends with ``<eos>`` (its last line counts).
        """
        get, unk, eos = self._ids.get, self.unk_id, self.eos_id
        ids: list[int] = []
        for line in split_lines(text):
            ids.extend([get(w, unk) for w in self._words(line)])
            ids.append(eos)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """Words joined by single spaces, a newline for each ``<eos>``.

        ``<unk>`` reads as the literal ``<unk>``; out-of-range ids are dropped.
        """
        n, eos = len(self._vocab), self.eos_id
        out: list[str] = []
        line: list[str] = []
        for i in map(int, ids):
            if i == eos:
                out.append(" ".join(line) + "\n")
                line = []
            elif 0 <= i < n:
                line.append(self._vocab[i])
        out.append(" ".join(line))
        return "".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "word",
            "words": self._vocab[len(SPECIALS) :],
            "lower": self.lower,
            "split": self.split,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordTokenizer:
        return cls(d["words"], lower=d.get("lower", False), split=d.get("split", "whitespace"))

    def save(self, path: str | Path) -> None:
        save_tokenizer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> WordTokenizer:
        return load_tokenizer(path, expect=cls)
