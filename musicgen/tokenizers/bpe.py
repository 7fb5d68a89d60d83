"""``BPETokenizer``: byte-level BPE (GPT-2 style), trained with Hugging Face ``tokenizers``.

Byte-level pre-tokenization means every string has an encoding and decodes back exactly;
no text is ever ``<unk>``. Lines are encoded separately and each newline becomes the
``<eos>`` token, so a model learns where lines end and a sampler can stop there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from musicgen.tokenizers.base import (
    BOS,
    EOS,
    PAD,
    load_tokenizer,
    register_tokenizer,
    save_tokenizer,
)
from musicgen.tokenizers.word import UNK

SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0-3, as in CharTokenizer


@register_tokenizer("bpe")
class BPETokenizer:
    """Text <-> byte-level BPE ids; ``"\\n"`` <-> ``<eos>``, so ``decode(encode(s)) == s``.

    Args:
        hf: a trained Hugging Face tokenizer whose ids 0-3 are ``<pad>``, ``<bos>``,
            ``<eos>``, ``<unk>`` (``fit`` makes one).

    Raises:
        ValueError: when ``hf`` has other tokens at ids 0-3.
    """

    kind = "text"  # encodes a string; samples are printed
    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, hf: HFTokenizer) -> None:
        found = tuple(hf.id_to_token(i) for i in range(len(SPECIALS)))
        if found != SPECIALS:
            raise ValueError(f"BPETokenizer needs ids 0-3 to be {SPECIALS}, found {found}")
        # "<unk>" or "<eos>" written in the text is text, not a special token: WikiText has
        # literal "<unk>"s, and decode(encode(s)) must give them back
        hf.encode_special_tokens = True
        self.hf = hf

    @classmethod
    def fit(
        cls, texts: Iterable[str], *, vocab_size: int = 8000, min_frequency: int = 2
    ) -> BPETokenizer:
        """Learn merges from ``texts`` (the training text only), line by line.

        Args:
            texts: training texts.
            vocab_size: ids in all: the 4 specials, the 256 bytes and the learned merges
                (fewer when the text runs out of pairs seen ``min_frequency`` times).
            min_frequency: a pair must occur this often to be merged.

        Raises:
            ValueError: when ``vocab_size`` cannot hold the specials and the 256 bytes.
        """
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        least = len(SPECIALS) + len(alphabet)
        if vocab_size < least:
            raise ValueError(f"BPETokenizer vocab_size must be at least {least}, not {vocab_size}")
        hf = HFTokenizer(models.BPE(unk_token=UNK))
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIALS),
            initial_alphabet=alphabet,  # all 256 bytes, so no input is ever unknown
            show_progress=False,
        )
        hf.encode_special_tokens = True  # learn "<unk>" in the text as text (see __init__)
        hf.train_from_iterator(_lines(texts), trainer=trainer)
        return cls(hf)

    @property
    def vocab(self) -> list[str]:
        return [self.hf.id_to_token(i) for i in range(self.vocab_size)]

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Ids of each line, with ``<eos>`` in place of every newline."""
        lines = text.split("\n")
        encodings = self.hf.encode_batch(lines, add_special_tokens=False)
        ids: list[int] = []
        for enc in encodings[:-1]:
            ids.extend(enc.ids)
            ids.append(self.eos_id)
        ids.extend(encodings[-1].ids)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``: ``<eos>`` reads as a newline; other specials are dropped."""
        lines: list[list[int]] = [[]]
        for i in map(int, ids):
            if i == self.eos_id:
                lines.append([])
            else:
                lines[-1].append(i)
        return "\n".join(self.hf.decode(line, skip_special_tokens=True) for line in lines)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "bpe", "tokenizer": self.hf.to_str()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BPETokenizer:
        return cls(HFTokenizer.from_str(d["tokenizer"]))

    def save(self, path: str | Path) -> None:
        save_tokenizer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        return load_tokenizer(path, expect=cls)


def _lines(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        yield from text.split("\n")
