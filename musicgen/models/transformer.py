"""A decoder-only Transformer language model (Vaswani et al. 2017; GPT-2, Radford et al. 2019)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from musicgen.models.attention import CausalSelfAttention, LayerCache
from musicgen.models.backbone import ContextLengthError
from musicgen.models.positional import LearnedPositions, RotaryEmbedding, SinusoidalPositions

POS_ENCODINGS = ("sinusoidal", "learned", "rotary")


class KVCache(NamedTuple):
    """The Transformer's state: every layer's keys and values of the tokens seen so far.

    Attributes:
        caches: One `LayerCache` per layer, views of buffers that later steps append to in
            place; P, their length, is the same for all layers.
    """

    caches: tuple[LayerCache, ...]
    attention: tuple[torch.Tensor, ...] | None = None  # per layer (B, nh, T, P + T), if asked

    @property
    def offset(self) -> int:
        """P, the number of cached tokens: the absolute position of the next token."""
        return self.caches[0].length

    @property
    def layers(self) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """One (k, v) pair of views per layer, each (B, nh, P, hs)."""
        return tuple((c.keys, c.values) for c in self.caches)

    def expand(self, n: int) -> KVCache:
        """A cache of n rows, each a copy of this one-row cache: one prefill serves n samples."""
        if self.caches[0].buffer.k.size(0) != 1:
            raise ValueError(f"only a one-row cache expands, not {self.caches[0].buffer.k.size(0)}")
        return KVCache(tuple(c.expand(n) for c in self.caches))


class MLP(nn.Module):
    """Position-wise feed-forward network: d → 4d → d with GELU (Hendrycks & Gimpel 2016)."""

    def __init__(self, d_model: int, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.act = nn.GELU()
        self.out_proj = nn.Linear(4 * d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.out_proj(self.act(self.fc(x))))  # (B, T, C)


class Block(nn.Module):
    """A pre-LayerNorm Transformer block (Xiong et al. 2020): x + attn(ln(x)), x + mlp(ln(x))."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float,
        rotary: RotaryEmbedding | None,
        max_len: int | None = None,
    ) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads, dropout, rotary, max_len)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, dropout)

    def forward(
        self, x: torch.Tensor, cache: LayerCache | None, need_weights: bool = False
    ) -> tuple[torch.Tensor, LayerCache, torch.Tensor | None]:
        a, cache, weights = self.attn(self.ln_1(x), cache, need_weights)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, cache, weights  # (B, T, C), the cache, (B, nh, T, P + T) or None


class TransformerLM(nn.Module):
    """A causal Transformer language model with a key/value cache for incremental decoding.

    `forward(ids, state)` returns the logits and a `KVCache`; passing that cache back with
    the next token(s) costs only those tokens, and gives the same logits as a full pass,
    for one token or a chunk of several. The new keys and values are written in place into
    preallocated buffers when the given cache is the newest on them, and into a copy
    otherwise, so the given cache keeps its tokens and one prompt's cache can seed several
    continuations.

    Positions are absolute, at most `max_len`: a call whose tokens would reach past position
    `max_len - 1` raises `ContextLengthError` (a `ValueError`). To continue further, the
    sampler slides the window: it re-encodes the last tokens without a cache.

    Args:
        vocab_size: Number of token ids.
        d_model: Model width.
        n_layers: Number of blocks.
        n_heads: Attention heads per block; must divide `d_model`.
        max_len: Context window in tokens.
        dropout: Dropout on the embeddings, attention weights and residual branches.
        pos_encoding: "sinusoidal" (Vaswani et al. 2017), "learned" (GPT-2), or "rotary"
            (Su et al. 2021).
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 256,
        n_layers: int = 4,
        n_heads: int = 4,
        max_len: int = 512,
        dropout: float = 0.1,
        pos_encoding: str = "sinusoidal",
    ) -> None:
        super().__init__()
        if pos_encoding not in POS_ENCODINGS:
            raise ValueError(f"unknown pos_encoding {pos_encoding!r}; choose from {POS_ENCODINGS}")
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.max_len: int | None = max_len
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos: SinusoidalPositions | LearnedPositions | None = None
        rotary = None
        if pos_encoding == "sinusoidal":
            self.pos = SinusoidalPositions(max_len, d_model)
        elif pos_encoding == "learned":
            self.pos = LearnedPositions(max_len, d_model)
        else:
            rotary = RotaryEmbedding(max_len, d_model // n_heads)  # shared by every layer
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            [Block(d_model, n_heads, dropout, rotary, max_len) for _ in range(n_layers)]
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # weight tying: Press & Wolf 2016
        self._init_weights(n_layers)

    def _init_weights(self, n_layers: int) -> None:
        # GPT-2 (Radford et al. 2019): N(0, 0.02) everywhere, and residual output projections
        # scaled by 1/sqrt(2·n_layers) since each block adds two branches to the residual stream
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for block in self.blocks:
            for proj in (block.attn.out_proj, block.mlp.out_proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * n_layers))

    def forward(
        self, ids: torch.Tensor, state: KVCache | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, KVCache]:
        """Runs the model over `ids`, continuing after the tokens held in `state`.

        Args:
            ids: Token ids, (B, T).
            state: The cache returned by the previous call, or None to start at position 0.
            need_weights: Also put each layer's self-attention weights in the returned
                cache's ``attention`` (slower: the explicit softmax instead of SDPA).

        Returns:
            Logits (B, T, V) and the cache extended by these T tokens.

        Raises:
            ContextLengthError: When the cached plus new tokens exceed `max_len`.
        """
        T = ids.size(1)
        offset = 0 if state is None else state.offset
        if offset + T > self.max_len:
            raise ContextLengthError(
                f"{offset} cached + {T} new tokens exceed the context window max_len="
                f"{self.max_len}; re-encode the last tokens without a cache to slide the window"
            )
        x = self.tok_emb(ids)  # (B, T, C)
        if self.pos is not None:
            x = x * self.pos.embed_scale + self.pos(offset, T)  # (B, T, C) + (T, C)
        x = self.drop(x)
        caches = (None,) * len(self.blocks) if state is None else state.caches
        new_caches, weights = [], []
        for block, cache in zip(self.blocks, caches, strict=True):
            x, cache, w = block(x, cache, need_weights)
            new_caches.append(cache)
            weights.append(w)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        return logits, KVCache(tuple(new_caches), tuple(weights) if need_weights else None)
