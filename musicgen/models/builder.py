"""Build a backbone by name, for code that picks one without Hydra's `_target_`."""

from __future__ import annotations

from typing import Any

from torch import nn

from musicgen.models.recurrent import CELLS, RecurrentLM
from musicgen.models.transformer import TransformerLM

MODEL_NAMES = (*CELLS, "transformer")


def build_model(name: str, vocab_size: int, **kwargs: Any) -> nn.Module:
    """Builds a backbone.

    Args:
        name: "lstm", "gru", "rnn" (a `RecurrentLM` with that cell) or "transformer".
        vocab_size: Number of token ids.
        **kwargs: The chosen class's other constructor arguments.

    Returns:
        A `RecurrentLM` or a `TransformerLM`.
    """
    if name == "transformer":
        return TransformerLM(vocab_size, **kwargs)
    if name in CELLS:
        return RecurrentLM(vocab_size, cell=name, **kwargs)
    raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
