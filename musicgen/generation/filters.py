"""Turn a step's logits into next tokens: penalty, grammar mask, temperature, top-k, top-p.

Every function works on a batch of rows, (B, V), and returns a new tensor; disallowed or
filtered-out tokens get -inf, so `softmax` gives them probability 0.
"""

from __future__ import annotations

import torch


def penalise_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """Makes tokens already in a row less likely (CTRL, Keskar et al. 2019).

    A seen token's positive logit is divided by `penalty` and a negative one multiplied by
    it, so a penalty > 1 always lowers it (dividing a negative logit would raise it).

    Args:
        logits: (B, V).
        seen: Bool (B, V), True where the token already occurs in the row.
        penalty: 1 leaves the logits alone; 1.2 is the paper's choice.
    """
    if penalty == 1.0:
        return logits
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keeps the k largest logits of each row (ties at the k-th value are kept too)."""
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering (Holtzman et al. 2020): the smallest set of most likely tokens whose
    probability adds up to at least `p`; the most likely token is always kept."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
    probs = torch.softmax(sorted_logits, dim=-1)
    # drop a token when the ones before it already reach p; the first has 0 before it
    before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = before >= p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def filter_logits(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    seen: torch.Tensor | None = None,
    allowed: torch.Tensor | None = None,
) -> torch.Tensor:
    """Applies, in order: repetition penalty, the allowed-token mask, temperature, top-k,
    top-p.

    Args:
        logits: (B, V) raw scores of the next token.
        temperature: Divides the logits; < 1 sharpens, > 1 flattens; 0 leaves them (greedy).
        top_k: Keep only the k most likely tokens (None: all).
        top_p: Keep the nucleus of probability mass p, 0 < p <= 1 (None: all).
        repetition_penalty: See `penalise_repeats`; needs `seen`.
        seen: Bool (B, V), tokens already in each row.
        allowed: Bool (B, V), False where a grammar forbids the token.

    Returns:
        Float scores (B, V), -inf where a token may not be drawn.
    """
    scores = logits.float()
    if seen is not None:
        scores = penalise_repeats(scores, seen, repetition_penalty)
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    if temperature > 0:  # 0 means greedy: the argmax needs no scaling
        scores = scores / temperature
    if top_k is not None:
        scores = top_k_filter(scores, top_k)
    if top_p is not None and top_p < 1.0:
        scores = top_p_filter(scores, top_p)
    return scores


def draw(scores: torch.Tensor, greedy: bool, generator: torch.Generator | None) -> torch.Tensor:
    """One token per row, (B,): the argmax when `greedy`, else a draw from softmax(scores)."""
    if greedy:
        return scores.argmax(dim=-1)
    probs = torch.softmax(scores, dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
