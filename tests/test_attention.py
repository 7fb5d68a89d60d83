"""The attention math and the position encodings, checked against the formulas by hand."""

from __future__ import annotations

import math

import pytest
import torch

from musicgen.models import TransformerLM, causal_attention
from musicgen.models.attention import causal_attention_weights
from musicgen.models.positional import RotaryEmbedding, SinusoidalPositions


def reference_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(QKᵀ/√d + M) V with an explicit mask: query i (after P cached keys) sees ≤ P + i."""
    t_q, t_k = q.size(-2), k.size(-2)
    past = t_k - t_q
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, nh, T, P + T)
    allowed = torch.ones(t_q, t_k).tril(diagonal=past).bool()
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


@pytest.mark.parametrize(
    ("t_q", "t_k"),
    [(6, 6), (1, 1), (1, 7), (3, 8), (4, 5)],
    ids=["no-cache", "single", "one-step", "chunk-after-cache", "chunk-after-1"],
)
def test_causal_attention_matches_formula(t_q: int, t_k: int) -> None:
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, t_q, 8, generator=gen)
    k = torch.randn(2, 3, t_k, 8, generator=gen)
    v = torch.randn(2, 3, t_k, 8, generator=gen)
    torch.testing.assert_close(
        causal_attention(q, k, v), reference_attention(q, k, v), atol=1e-6, rtol=1e-5
    )


def test_cache_offset_mask_is_not_top_left() -> None:
    # with 4 cached keys, the first new query must see keys 0..4, not only key 0
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(1, 1, 2, 4, generator=gen)
    k = torch.randn(1, 1, 6, 4, generator=gen)
    v = torch.randn(1, 1, 6, 4, generator=gen)
    top_left = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    ours = causal_attention(q, k, v)
    assert not torch.allclose(ours, top_left)
    torch.testing.assert_close(ours, reference_attention(q, k, v), atol=1e-6, rtol=1e-5)


def test_more_queries_than_keys_is_an_error() -> None:
    q = torch.randn(1, 1, 3, 4)
    with pytest.raises(ValueError, match="more queries"):
        causal_attention(q, q[:, :, :2], q[:, :, :2])


def test_sinusoidal_table_matches_vaswani() -> None:
    dim, pos = 16, SinusoidalPositions(max_len=50, dim=16)
    table = pos(offset=0, length=50)
    for p in (0, 7, 49):
        for i in range(dim // 2):
            angle = p / 10000 ** (2 * i / dim)
            assert table[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    torch.testing.assert_close(pos(offset=7, length=3), table[7:10])


def test_rotary_score_depends_only_on_relative_position() -> None:
    rope = RotaryEmbedding(max_len=64, head_dim=8)
    gen = torch.Generator().manual_seed(2)
    q, k = torch.randn(1, 1, 1, 8, generator=gen), torch.randn(1, 1, 1, 8, generator=gen)

    def score(m: int, n: int) -> float:
        return (rope(q, offset=m) * rope(k, offset=n)).sum().item()

    assert score(10, 3) == pytest.approx(score(40, 33), abs=1e-5)
    assert score(10, 3) != pytest.approx(score(10, 4), abs=1e-3)
    # a rotation keeps the norm, and position 0 is the identity
    torch.testing.assert_close(rope(q, offset=17).norm(), q.norm())
    torch.testing.assert_close(rope(q, offset=0), q)


def test_rotary_needs_even_head_size() -> None:
    with pytest.raises(ValueError, match="even"):
        RotaryEmbedding(max_len=8, head_dim=7)


@pytest.mark.parametrize(("t_q", "t_k"), [(5, 5), (1, 6), (3, 7)])
def test_attention_weights_are_the_causal_softmax_that_the_fast_path_applies(t_q, t_k):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, t_q, 8), torch.randn(2, 3, t_k, 8), torch.randn(2, 3, t_k, 8)
    weights = causal_attention_weights(q, k)  # (B, nh, T, P + T)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, t_q))
    past = t_k - t_q
    future = torch.ones(t_q, t_k).triu(diagonal=past + 1).bool()  # keys after each query
    assert (weights[..., future] == 0).all()
    torch.testing.assert_close(weights @ v, causal_attention(q, k, v), atol=1e-6, rtol=1e-5)


def test_transformer_weights_change_nothing_and_match_cached_steps():
    torch.manual_seed(0)
    model = TransformerLM(vocab_size=20, d_model=16, n_heads=2, n_layers=2, max_len=32).eval()
    ids = torch.randint(0, 20, (1, 9))
    with torch.no_grad():
        fast, plain = model(ids)
        logits, state = model(ids, need_weights=True)
        _, prefix = model(ids[:, :8])
        _, step = model(ids[:, 8:], prefix, need_weights=True)
    assert plain.attention is None  # SDPA's path: no weights unless asked
    torch.testing.assert_close(logits, fast, atol=1e-5, rtol=1e-5)
    assert len(state.attention) == 2 and state.attention[0].shape == (1, 2, 9, 9)
    # one cached step attends as the last row of the full pass
    for full, cached in zip(state.attention, step.attention, strict=True):
        torch.testing.assert_close(cached[:, :, 0], full[:, :, -1], atol=1e-6, rtol=1e-5)
