"""Multi-head causal self-attention with a key/value cache (Vaswani et al. 2017)."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from musicgen.models.positional import RotaryEmbedding

MIN_CAPACITY = 64  # tokens: a short prompt's buffer still leaves room for some steps


class KVBuffer:
    """One layer's keys and values in preallocated tensors, shared by successive caches.

    Positions below `written` are never overwritten, so every `LayerCache` on this buffer
    (which reads only its first `length` ≤ `written` positions) stays valid. Only the newest
    cache, whose length equals `written`, appends in place; any other copies first.
    """

    def __init__(self, k: torch.Tensor, v: torch.Tensor, written: int) -> None:
        self.k, self.v = k, v  # (B, nh, capacity, hs) each
        self.written = written

    @classmethod
    def empty(cls, like: torch.Tensor, capacity: int) -> KVBuffer:
        B, nh, _, hs = like.shape
        shape = (B, nh, capacity, hs)
        return cls(like.new_empty(shape), like.new_empty(shape), 0)


class LayerCache(NamedTuple):
    """One layer's cache: the first `length` positions of `buffer`."""

    buffer: KVBuffer
    length: int

    @property
    def keys(self) -> torch.Tensor:
        return self.buffer.k[:, :, : self.length]  # (B, nh, P, hs), a view

    @property
    def values(self) -> torch.Tensor:
        return self.buffer.v[:, :, : self.length]  # (B, nh, P, hs), a view

    def expand(self, n: int) -> LayerCache:
        """n rows, each a copy of this one-row cache, in a new buffer of the same capacity."""
        shape = (n, *self.buffer.k.shape[1:])  # (n, nh, capacity, hs)
        buf = KVBuffer(self.buffer.k.new_empty(shape), self.buffer.v.new_empty(shape), self.length)
        buf.k[:, :, : self.length] = self.keys  # (1, nh, P, hs) broadcast to n rows
        buf.v[:, :, : self.length] = self.values
        return LayerCache(buf, self.length)


def extend_cache(
    cache: LayerCache | None, k: torch.Tensor, v: torch.Tensor, max_len: int | None
) -> LayerCache:
    """The cache holding `cache`'s tokens, then the new keys and values k, v (B, nh, T, hs).

    Writes in place into `cache`'s buffer when it is the newest cache there and has room:
    a decode step then costs O(T), not a copy of the whole cache. Otherwise the prefix is
    copied into a new buffer of about twice the length (amortised O(1) copies per token).
    `cache` itself is never modified, so it can seed other continuations.
    """
    past = 0 if cache is None else cache.length
    end = past + k.size(2)
    if torch.is_grad_enabled() and (
        k.requires_grad or v.requires_grad or (cache is not None and cache.buffer.k.requires_grad)
    ):
        # autograd saves the keys and values it read: writing into them would break backward
        if cache is not None:
            k, v = torch.cat((cache.keys, k), dim=2), torch.cat((cache.values, v), dim=2)
        return LayerCache(KVBuffer(k, v, end), end)
    buf = None if cache is None else cache.buffer
    if buf is not None and buf.k.size(0) != k.size(0):
        raise ValueError(f"the cache holds {buf.k.size(0)} rows but the input {k.size(0)}")
    if buf is None or buf.written != past or buf.k.size(2) < end:
        capacity = max(2 * end, MIN_CAPACITY)
        new = KVBuffer.empty(k, capacity if max_len is None else max(end, min(capacity, max_len)))
        if cache is not None:
            new.k[:, :, :past] = cache.keys
            new.v[:, :, :past] = cache.values
        buf = new
    buf.k[:, :, past:end] = k
    buf.v[:, :, past:end] = v
    buf.written = end
    return LayerCache(buf, end)


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


def causal_attention_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The weights softmax(QKᵀ/√d + causal mask) that :func:`causal_attention` applies.

    Computed explicitly (``F.scaled_dot_product_attention`` does not return them), so only
    when a caller asks to see them; queries are the last T of the P + T keys, as there.

    Args:
        q: Queries (B, nh, T, hs).
        k: Keys (B, nh, P + T, hs).

    Returns:
        Weights (B, nh, T, P + T); each row sums to 1 and is 0 on future keys.
    """
    t_q, t_k = q.size(-2), k.size(-2)
    rows = torch.arange(t_q, device=q.device).unsqueeze(1) + (t_k - t_q)  # (T, 1)
    cols = torch.arange(t_k, device=q.device).unsqueeze(0)  # (1, P + T)
    scores = (q @ k.transpose(-2, -1)) / q.size(-1) ** 0.5  # (B, nh, T, P + T)
    return scores.masked_fill(cols > rows, float("-inf")).softmax(dim=-1)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention that reads and extends a key/value cache.

    Args:
        d_model: Model width.
        n_heads: Number of heads; must divide `d_model`.
        dropout: Dropout on the attention weights and on the output.
        rotary: Rotary embedding for queries and keys (Su et al. 2021), or None.
        max_len: The most tokens a cache will hold (its buffers never grow past it), or None.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float,
        rotary: RotaryEmbedding | None,
        max_len: int | None = None,
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
        self.max_len = max_len

    def forward(
        self, x: torch.Tensor, cache: LayerCache | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, LayerCache, torch.Tensor | None]:
        """Attends from the new tokens `x` (B, T, C) to the cache plus themselves.

        Args:
            need_weights: also return the attention weights (computed explicitly; otherwise
                the fast `F.scaled_dot_product_attention` path runs and gives none).

        Returns:
            The output (B, T, C), the extended cache (the given cache keeps its tokens), and
            the weights (B, nh, T, P + T) or None.
        """
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        # q, k, v: (B, nh, T, hs)
        offset = 0 if cache is None else cache.length
        if self.rotary is not None:
            q, k = self.rotary(q, offset), self.rotary(k, offset)  # cached keys stay rotated
        cache = extend_cache(cache, k, v, self.max_len)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            weights = causal_attention_weights(q, cache.keys)  # (B, nh, T, P + T)
            y = F.dropout(weights, dropout_p, self.training) @ cache.values
        else:
            y = causal_attention(  # keys and values: (B, nh, P + T, hs) views, no copy
                q, cache.keys, cache.values, dropout_p=dropout_p
            )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_drop(self.out_proj(y)), cache, weights
