"""The logit filters on hand-made logits: each does exactly what its name says."""

from __future__ import annotations

import math

import torch

from musicgen.generation import draw, filter_logits, penalise_repeats, top_k_filter, top_p_filter

INF = float("-inf")


def test_top_k_keeps_the_k_largest() -> None:
    logits = torch.tensor([[1.0, 4.0, 3.0, 2.0], [0.0, -1.0, 5.0, 6.0]])
    out = top_k_filter(logits, 2)
    assert torch.equal(out, torch.tensor([[INF, 4.0, 3.0, INF], [INF, INF, 5.0, 6.0]]))
    assert torch.equal(top_k_filter(logits, 10), logits)  # k past V keeps all


def test_top_p_keeps_the_smallest_nucleus() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    assert torch.isinf(top_p_filter(logits, 0.8)).tolist() == [[False, False, True, True]]
    # 0.5 + 0.3 = 0.8 < 0.85: the third token is needed too
    assert torch.isinf(top_p_filter(logits, 0.85)).tolist() == [[False, False, False, True]]
    # a tiny p still keeps the most likely token; order of the vocabulary does not matter
    shuffled = logits[:, [3, 1, 0, 2]]
    assert torch.isinf(top_p_filter(shuffled, 1e-6)).tolist() == [[True, True, False, True]]
    assert not torch.isinf(top_p_filter(logits, 1.0)).any()


def test_temperature_scales_the_logits() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    torch.testing.assert_close(filter_logits(logits, temperature=0.5), logits * 2)
    torch.testing.assert_close(filter_logits(logits, temperature=0.0), logits)  # greedy: as is
    flat = torch.softmax(filter_logits(logits, temperature=100.0), -1)
    assert flat.max() - flat.min() < 0.05  # a high temperature approaches uniform


def test_repetition_penalty_lowers_seen_tokens_only() -> None:
    logits = torch.tensor([[2.0, -2.0, 2.0, -2.0]])
    seen = torch.tensor([[True, True, False, False]])
    out = penalise_repeats(logits, seen, 2.0)
    # positive logits are divided, negative ones multiplied: both go down (Keskar et al. 2019)
    assert torch.equal(out, torch.tensor([[1.0, -4.0, 2.0, -2.0]]))
    assert torch.equal(penalise_repeats(logits, seen, 1.0), logits)


def test_mask_comes_before_top_k() -> None:
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0]])
    allowed = torch.tensor([[False, True, False, True]])
    out = filter_logits(logits, top_k=1, allowed=allowed)
    assert torch.isinf(out).tolist() == [[True, False, True, True]]  # best allowed, not best


def test_draw_follows_the_probabilities() -> None:
    scores = torch.tensor([[math.log(0.75), math.log(0.25), INF]]).expand(4000, -1)
    ids = draw(scores, greedy=False, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(ids, minlength=3)
    assert counts[2] == 0
    assert abs(counts[0].item() / 4000 - 0.75) < 0.03
    assert draw(scores[:1], greedy=True, generator=None).tolist() == [0]
