"""A Transformer encoder–decoder harmoniser (Vaswani et al. 2017), pre-LayerNorm blocks.

The decoder's self-attention is the decoder-only model's ``CausalSelfAttention`` with its
key/value cache; its cross-attention reads the melody's keys and values, projected once
per layer when the melody is encoded and kept in the state.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from musicgen.models.attention import CausalSelfAttention, KVBuffer, LayerCache
from musicgen.models.harmonizer import (
    BEAT,
    BeatDistance,
    MelodyEmbedding,
    attend,
    select_rows,
    source_mask,
)
from musicgen.models.transformer import MLP
from musicgen.tokenizers.harmony import FEATURE_SIZES


def _heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    B, S, C = x.shape
    return x.view(B, S, n_heads, C // n_heads).transpose(1, 2)  # (B, nh, S, hs)


def _merge(y: torch.Tensor) -> torch.Tensor:
    B, nh, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, nh * hs)  # (B, T, C)


class EncoderBlock(nn.Module):
    """x + selfattn(ln(x)) over all notes (no causal mask), then x + mlp(ln(x))."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads, self.dropout = n_heads, dropout
        self.ln_1, self.ln_2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.mlp = MLP(d_model, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q, k, v = (_heads(t, self.n_heads) for t in self.qkv(self.ln_1(x)).chunk(3, dim=-1))
        y, _ = attend(q, k, v, mask, self.dropout if self.training else 0.0)
        x = x + self.out_proj(_merge(y))
        return x + self.mlp(self.ln_2(x))  # (B, S, C)


class DecoderBlock(nn.Module):
    """Causal self-attention, cross-attention to the melody, MLP; each pre-LayerNorm."""

    def __init__(self, d_model: int, n_heads: int, dropout: float, max_len: int) -> None:
        super().__init__()
        self.n_heads, self.dropout = n_heads, dropout
        self.ln_1, self.ln_2, self.ln_3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.self_attn = CausalSelfAttention(d_model, n_heads, dropout, None, max_len)
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.cross_out = nn.Linear(d_model, d_model)
        self.distance = BeatDistance(n_heads)
        self.mlp = MLP(d_model, dropout)

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(memory).chunk(2, dim=-1)
        return _heads(k, self.n_heads), _heads(v, self.n_heads)  # (B, nh, S, hs) each

    def forward(self, x, cache: LayerCache | None, kv, mask, beats, need_weights: bool):
        """``beats``: the notes' beats (B, S) and the steps' (T,), for :class:`BeatDistance`."""
        a, cache, _ = self.self_attn(self.ln_1(x), cache)
        x = x + a
        q = _heads(self.q(self.ln_2(x)), self.n_heads)  # (B, nh, T, hs)
        p = self.dropout if self.training else 0.0
        y, weights = attend(q, *kv, mask, p, need_weights, self.distance(*beats))
        x = x + self.cross_out(_merge(y))
        return x + self.mlp(self.ln_3(x)), cache, weights  # weights (B, nh, T, S) or None


class TransformerState(NamedTuple):
    """Encoder output (kept), per-layer cross keys/values, self-attention caches, weights.

    ``attention`` is the last decoder layer's cross-attention averaged over heads,
    (B, T, S), when asked; ``heads`` the same per layer and head, (L, B, nh, T, S);
    ``beats`` each note's beat (B, S).
    """

    mask: torch.Tensor
    cross: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    caches: tuple[LayerCache, ...] | None
    position: int
    attention: torch.Tensor | None = None
    heads: torch.Tensor | None = None
    beats: torch.Tensor | None = None

    def select(self, index: torch.Tensor) -> TransformerState:
        caches = None
        if self.caches is not None:  # copies: a reordered beam must not share buffers
            caches = tuple(_select_cache(c, index) for c in self.caches)
        kept = self._replace(caches=None, attention=None, heads=None)  # heads: batch is dim 1
        return select_rows(kept, index)._replace(caches=caches)


def _select_cache(cache: LayerCache, index: torch.Tensor) -> LayerCache:
    k, v = cache.keys.index_select(0, index), cache.values.index_select(0, index)
    return LayerCache(KVBuffer(k.contiguous(), v.contiguous(), cache.length), cache.length)


class TransformerHarmonizer(nn.Module):
    """Melody → chords with a Transformer encoder–decoder and cached incremental decoding.

    Args:
        vocab_size: chord vocabulary size.
        d_model: model width.
        n_heads: heads per attention.
        n_encoder_layers: encoder blocks.
        n_decoder_layers: decoder blocks.
        dropout: on embeddings, attention weights and residual branches.
        max_beats: longest tune in beats (the decoder's context).
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_encoder_layers: int = 2,
        n_decoder_layers: int = 2,
        dropout: float = 0.1,
        max_beats: int = 1024,
    ) -> None:
        super().__init__()
        self.max_len = max_beats + 1
        self.src_emb = MelodyEmbedding(FEATURE_SIZES, d_model, max_beats + 1)
        self.tgt_emb = nn.Embedding(vocab_size, d_model)
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.ModuleList(
            EncoderBlock(d_model, n_heads, dropout) for _ in range(n_encoder_layers)
        )
        self.ln_enc = nn.LayerNorm(d_model)
        self.decoder = nn.ModuleList(
            DecoderBlock(d_model, n_heads, dropout, self.max_len) for _ in range(n_decoder_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tgt_emb.weight  # weight tying: Press & Wolf 2016
        self.emb_scale = d_model**0.5
        # small chord embeddings (GPT-2's N(0, 0.02)): the tied head starts near uniform
        nn.init.normal_(self.tgt_emb.weight, std=0.02)

    def encode(self, src: torch.Tensor) -> TransformerState:
        """Runs the encoder once; the state before the first chord step."""
        mask = source_mask(src)
        x = self.drop(self.src_emb(src))
        for block in self.encoder:
            x = block(x, mask)
        memory = self.ln_enc(x)  # (B, S, C)
        cross = tuple(b.memory_kv(memory) for b in self.decoder)
        return TransformerState(mask, cross, None, 0, beats=src[..., BEAT])

    def forward(
        self, src: torch.Tensor, tgt: torch.Tensor, state: TransformerState | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, TransformerState]:  # fmt: skip
        """Logits (B, T, V) for the chord steps after ``tgt`` (B, T), and the new state."""
        if state is None:
            state = self.encode(src)
        T = tgt.size(1)
        steps = torch.arange(state.position, state.position + T, device=tgt.device)
        # the tied embeddings are small (std 0.02): scaled by sqrt(d_model), as in Vaswani et
        # al. 2017 (3.4), so that the chord is not drowned by the unit-amplitude beat sinusoid
        x = self.drop(self.tgt_emb(tgt) * self.emb_scale + self.src_emb.beats(steps))  # (B, T, C)
        caches = state.caches or (None,) * len(self.decoder)
        new_caches, heads = [], []
        for block, cache, kv in zip(self.decoder, caches, state.cross, strict=True):
            x, cache, weights = block(x, cache, kv, state.mask, (state.beats, steps), need_weights)
            new_caches.append(cache)
            heads.append(weights)
        logits = self.head(self.ln_f(x))  # (B, T, V)
        stacked = torch.stack(heads) if need_weights else None  # (L, B, nh, T, S)
        new = state._replace(
            caches=tuple(new_caches), position=state.position + T,
            attention=None if stacked is None else stacked[-1].mean(1), heads=stacked,
        )  # fmt: skip
        return logits, new
