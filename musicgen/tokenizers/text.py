"""Text tokenizers by name: build one from a spec such as ``{"type": "word", "min_freq": 2}``."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from musicgen.tokenizers.base import Tokenizer
from musicgen.tokenizers.bpe import BPETokenizer
from musicgen.tokenizers.char import CharTokenizer
from musicgen.tokenizers.word import WordTokenizer

# The tokenizers that learn their vocabulary from text with a ``fit`` classmethod.
TEXT_TOKENIZERS: dict[str, type] = {
    "word": WordTokenizer,
    "bpe": BPETokenizer,
    "char": CharTokenizer,
}


def fit_tokenizer(spec: Mapping[str, Any], texts: Iterable[str]) -> Tokenizer:
    """Fit the tokenizer that ``spec`` names on ``texts`` (the training text only).

    Args:
        spec: ``{"type": "word" | "bpe" | "char", **options}``; the options are the keyword
            arguments of that class's ``fit`` (a Hydra ``DictConfig`` works too).
        texts: the training texts.

    Raises:
        ValueError: when ``spec`` names no text tokenizer or passes an option its ``fit``
            does not take.
    """
    options = {str(k): v for k, v in spec.items()}
    type_name = options.pop("type", None)
    if type_name not in TEXT_TOKENIZERS:
        known = ", ".join(sorted(TEXT_TOKENIZERS))
        raise ValueError(f"tokenizer spec needs a type among {known}, got {type_name!r}")
    cls = TEXT_TOKENIZERS[type_name]
    accepted = set(inspect.signature(cls.fit).parameters) - {"texts"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(
            f"tokenizer spec {options | {'type': type_name}}: {type_name} tokenizers take no"
            f" option {', '.join(unknown)} (they take {', '.join(sorted(accepted))})"
        )
    return cls.fit(texts, **options)
