"""What every backbone shares: the call protocol, the context-length error, a parameter count."""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn


class ContextLengthError(ValueError):
    """A forward pass would place a token past the model's context window (`max_len`)."""


class Backbone(Protocol):
    """The one interface the Lightning module and the sampler rely on.

    Attributes:
        max_len: The context window in tokens, or None when the model has none (recurrent).
    """

    max_len: int | None

    def __call__(
        self, ids: torch.Tensor, state: Any = None
    ) -> tuple[torch.Tensor, Any]:  # ids (B, T) -> logits (B, T, V), state
        ...


def num_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Counts a model's parameters, a tied tensor once.

    Args:
        model: Any module.
        trainable_only: Count only parameters with `requires_grad`.

    Returns:
        The number of scalar parameters.
    """
    # nn.Module.parameters() already yields a shared (tied) tensor only once
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
