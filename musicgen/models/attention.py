"""Multi-head causal self-attention with a key/value cache (Vaswani et al. 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from musicgen.models.positional import RotaryEmbedding

# one layer's cache: keys and values of every token seen so far, each (B, nh, P, hs)
LayerCache = tuple[torch.Tensor, torch.Tensor]


def causal_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float = 0.0
) -> torch.Tensor:
    """softmax(QKᵀ/√d + causal mask) V, through `F.scaled_dot_product_attention`.

    The queries are the last T of the P + T positions held in `k` and `v` (P cached tokens,
    then the T new ones), so query i attends to keys 0 … P + i.

    Args:
        q: Queries (B, nh, T, hs).
        k: Keys (B, nh, P + T, hs).
        v: Values (B, nh, P + T, hs).
        dropout_p: Dropout on the attention weights; pass 0 in evaluation.

    Returns:
        The attended values (B, nh, T, hs).
    """
    t_q, t_k = q.size(-2), k.size(-2)
    past = t_k - t_q
    if past < 0:
        raise ValueError(f"more queries ({t_q}) than keys ({t_k})")
    if past == 0:
        # a plain causal mask: SDPA can use its flash kernel on GPU
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    if t_q == 1:
        # one new token sees the whole cache and itself: nothing to mask
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    # SDPA's is_causal aligns the mask to the top left, wrong with a cache; build it shifted
    rows = torch.arange(t_q, device=q.device).unsqueeze(1)  # (T, 1)
    cols = torch.arange(t_k, device=q.device).unsqueeze(0)  # (1, P + T)
    mask = cols <= rows + past  # (T, P + T), True = may attend
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention that reads and extends a key/value cache.

    Args:
        d_model: Model width.
        n_heads: Number of heads; must divide `d_model`.
        dropout: Dropout on the attention weights and on the output.
        rotary: Rotary embedding for queries and keys (Su et al. 2021), or None.
    """

    def __init__(
        self, d_model: int, n_heads: int, dropout: float, rotary: RotaryEmbedding | None
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.resid_drop = nn.Dropout(dropout)
        self.rotary = rotary

    def forward(
        self, x: torch.Tensor, cache: LayerCache | None = None
    ) -> tuple[torch.Tensor, LayerCache]:
        """Attends from the new tokens `x` (B, T, C) to the cache plus themselves.

        Returns:
            The output (B, T, C) and the extended cache; the given cache is not modified.
        """
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        # q, k, v: (B, nh, T, hs)
        offset = 0 if cache is None else cache[0].size(2)
        if self.rotary is not None:
            q, k = self.rotary(q, offset), self.rotary(k, offset)  # cached keys stay rotated
        if cache is not None:
            k = torch.cat((cache[0], k), dim=2)  # (B, nh, P + T, hs)
            v = torch.cat((cache[1], v), dim=2)
        y = causal_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_drop(self.out_proj(y)), (k, v)
