"""Decoding an encoder–decoder: greedy, sampling, beam search, all through the model's state.

The melody is encoded once (the first call's state holds the encoder output); each step
feeds one token with the state, so a step costs one decoder position. The number of steps
is given (a harmoniser writes exactly one chord per beat), and the ids in ``banned``
(padding, ``<bos>``, ``<eos>``) are never chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch


class Decoded(NamedTuple):
    """The chosen ids (n_steps,) and each step's attention over the source, (n_steps, S)."""

    ids: list[int]
    attention: torch.Tensor


def _step_logits(logits: torch.Tensor, banned: Sequence[int]) -> torch.Tensor:
    logits = logits[:, -1].float()  # (B, V)
    logits[:, list(banned)] = float("-inf")
    return logits


@torch.no_grad()
def decode(
    model,
    src: torch.Tensor,
    n_steps: int,
    bos_id: int,
    banned: Sequence[int] = (),
    method: str = "greedy",
    temperature: float = 1.0,
    seed: int = 0,
    beam_width: int = 4,
) -> Decoded:
    """Decodes ``n_steps`` tokens for one source ``src`` (1, S, F).

    Args:
        model: ``forward(src, tgt, state=None, need_weights=False) -> (logits, state)``
            whose states have ``attention`` and ``select(index)``.
        method: "greedy", "sample" (from softmax(logits / temperature); temperature 0 is
            greedy) or "beam".
        seed: of the sampling generator.
        beam_width: beams kept by "beam"; width 1 is greedy.
    """
    if method == "beam":
        return beam_search(model, src, n_steps, bos_id, banned, beam_width)
    if method not in ("greedy", "sample"):
        raise ValueError(f"unknown decoding method {method!r}; choose greedy, sample or beam")
    if method == "sample" and temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
    if temperature == 0:  # the limit of softmax(logits / T) as T -> 0, as the LM sampler has it
        method = "greedy"
    generator = torch.Generator(device=src.device).manual_seed(seed)
    token = torch.full((1, 1), bos_id, dtype=torch.long, device=src.device)
    state, ids, weights = None, [], []
    for _ in range(n_steps):
        logits, state = model(src, token, state, need_weights=True)
        logits = _step_logits(logits, banned)
        if method == "greedy":
            token = logits.argmax(-1, keepdim=True)  # (1, 1)
        else:
            probs = torch.softmax(logits / temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
        ids.append(int(token))
        weights.append(state.attention[0, -1])
    return Decoded(ids, torch.stack(weights) if weights else src.new_zeros(0, src.size(1)))


@torch.no_grad()
def greedy_batch(
    model, src: torch.Tensor, n_steps: int, bos_id: int, banned: Sequence[int] = ()
) -> torch.Tensor:
    """Greedy decoding of a batch of sources ``src`` (B, S, F) at once: ids (B, n_steps).

    Free-running, as ``decode`` is, but batched: what validation compares with the
    teacher-forced accuracy (rows shorter than ``n_steps`` are decoded on past their end).
    """
    token = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
    state, ids = None, []
    for _ in range(n_steps):
        logits, state = model(src, token, state)
        token = _step_logits(logits, banned).argmax(-1, keepdim=True)  # (B, 1)
        ids.append(token)
    return torch.cat(ids, dim=1) if ids else token[:, :0]


@torch.no_grad()
def beam_search(
    model,
    src: torch.Tensor,
    n_steps: int,
    bos_id: int,
    banned: Sequence[int] = (),
    beam_width: int = 4,
) -> Decoded:
    """The highest-scoring sequence (summed log-probabilities) among ``beam_width`` beams.

    All sequences have ``n_steps`` tokens, so no length normalisation is needed. The
    encoder runs once, for one row; its state is then copied to the beams.
    """
    k = beam_width
    token = torch.full((1, 1), bos_id, dtype=torch.long, device=src.device)
    logits, state = model(src, token, None, need_weights=True)
    scores = torch.zeros(1, device=src.device)  # one beam until the first expansion
    history = torch.zeros(1, 0, dtype=torch.long, device=src.device)  # (beams, t)
    attention = state.attention[:, -1:]  # (beams, t, S)
    for step in range(n_steps):
        logp = torch.log_softmax(_step_logits(logits, banned), dim=-1)  # (beams, V)
        total = (scores[:, None] + logp).flatten()
        scores, flat = total.topk(min(k, total.numel()))
        beam, token = flat // logp.size(1), flat % logp.size(1)
        history = torch.cat((history[beam], token[:, None]), dim=1)
        attention = attention[beam]
        if step + 1 == n_steps:
            break
        state = state.select(beam)
        logits, state = model(src.expand(len(beam), -1, -1), token[:, None], state, True)
        attention = torch.cat((attention, state.attention[:, -1:]), dim=1)
    best = int(scores.argmax())
    return Decoded(history[best].tolist(), attention[best, :n_steps])
