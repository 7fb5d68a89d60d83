"""Position information for the Transformer: sinusoidal, learned, and rotary (RoPE).

Each takes the absolute position of the first token (`offset`) so that incremental decoding
with a key/value cache sees the same positions as a full pass.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoid_angles(max_len: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Angles pos / base^(2i/dim) for positions [0, max_len) and i in [0, dim/2).

    Returns:
        A float32 tensor (max_len, ceil(dim / 2)).
    """
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pos = torch.arange(max_len, dtype=torch.float64)
    return torch.outer(pos, inv_freq).float()  # (max_len, dim/2)


class SinusoidalPositions(nn.Module):
    """Fixed additive sinusoids (Vaswani et al. 2017, section 3.5).

    Args:
        max_len: Number of positions.
        dim: Model width.
    """

    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        angles = sinusoid_angles(max_len, dim)  # (max_len, dim/2)
        table = torch.zeros(max_len, dim)
        table[:, 0::2] = torch.sin(angles)
        table[:, 1::2] = torch.cos(angles[:, : dim // 2])
        # not persistent: it is a function of the shape, so checkpoints need not carry it
        self.register_buffer("table", table, persistent=False)
        # token embeddings are scaled by sqrt(d_model) to match the sinusoids' unit amplitude
        # (Vaswani et al. 2017, section 3.4)
        self.embed_scale = math.sqrt(dim)

    def forward(self, offset: int, length: int) -> torch.Tensor:
        """The encodings of positions [offset, offset + length), (length, dim)."""
        return self.table[offset : offset + length]


class LearnedPositions(nn.Module):
    """A trained embedding per absolute position (as in GPT-2).

    Args:
        max_len: Number of positions.
        dim: Model width.
    """

    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(max_len, dim)
        self.embed_scale = 1.0

    def forward(self, offset: int, length: int) -> torch.Tensor:
        """The encodings of positions [offset, offset + length), (length, dim)."""
        return self.embed.weight[offset : offset + length]


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (Su et al. 2021), applied to queries and keys.

    Pairs of channels are rotated by an angle proportional to the position, so the dot
    product q·k depends only on the relative offset. Channels are paired as (j, j + hs/2)
    ("rotate half", as in GPT-NeoX), a fixed permutation of the paper's adjacent pairs.

    Args:
        max_len: Number of positions.
        head_dim: Width of one attention head; must be even.
    """

    def __init__(self, max_len: int, head_dim: int) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary embedding needs an even head size, got {head_dim}")
        angles = sinusoid_angles(max_len, head_dim)  # (max_len, hs/2)
        self.register_buffer("cos", torch.cos(angles), persistent=False)
        self.register_buffer("sin", torch.sin(angles), persistent=False)

    def forward(self, x: torch.Tensor, offset: int) -> torch.Tensor:
        """Rotates `x` (B, nh, T, hs) as if its first token sat at position `offset`."""
        length = x.size(-2)
        cos = self.cos[offset : offset + length].to(x.dtype)  # (T, hs/2)
        sin = self.sin[offset : offset + length].to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)  # (B, nh, T, hs/2) each
        return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
