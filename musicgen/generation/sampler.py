"""One sampler for every backbone: continue a prompt, N samples decoded together as a batch.

Every backbone has `forward(ids, state) -> (logits, state)`, so the loop is the same for the
LSTM (state = hidden state) and the Transformer (state = key/value cache): feed the prompt
once (one row, its state then copied to the N rows), then one token per step with the
state. A Transformer's context is `max_len` tokens;
when the next token would not fit, the window slides: the last `max_len // 2` tokens are
re-encoded without a cache (positions restart at 0) and decoding goes on from there.

With a `NoteGrammar`, every step masks the tokens the grammar forbids in each row, so every
sample is a valid note-token sequence and decodes to music; the new part may not end, nor
leave its first bar, before it holds a note (`NoteGrammar.needing_note`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from musicgen.generation.filters import draw, filter_logits
from musicgen.generation.stopping import StopAfterBars, StopAfterSeconds, StopCriterion
from musicgen.models import KVCache
from musicgen.tokenizers import GrammarError, GrammarState, NoteGrammar

__all__ = [
    "StopAfterBars",
    "StopAfterSeconds",
    "StopCriterion",
    "expand_state",
    "generate",
    "window_start",
]


def window_start(start: int, length: int, max_len: int | None) -> int:
    """First index of the context the model sees, given the previous one and the length.

    The window keeps growing until it would exceed `max_len`, then jumps so that it holds
    the last `max_len // 2` tokens: half a window of context, and half a window of cheap
    cached steps before the next slide (sliding by one token would re-encode every step).
    """
    if max_len is None or length - start <= max_len:
        return start
    return length - max(max_len // 2, 1)


@torch.no_grad()
def generate(
    model: nn.Module,
    prompt: Sequence[int],
    *,
    max_new_tokens: int,
    n_samples: int = 1,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    seed: int | None = None,
    grammar: NoteGrammar | None = None,
    use_cache: bool = True,
    eos_id: int | None = None,
    stop: StopCriterion | Sequence[StopCriterion] | None = None,
    min_new_tokens: int = 0,
) -> list[list[int]]:
    """Samples `n_samples` continuations of `prompt` as one batch.

    Args:
        model: Any backbone with `forward(ids, state) -> (logits, state)` and `max_len`.
            It runs in eval mode here and is put back in its former mode afterwards.
        prompt: Token ids to continue (at least one; `[tokenizer.bos_id]` to start afresh).
        max_new_tokens: Most tokens to add per row.
        n_samples: Number of rows, all continuing the same prompt.
        temperature: Softmax temperature; 0 is greedy (argmax), as is `top_k=1`.
        top_k: Draw only among the k most likely tokens.
        top_p: Draw only from the nucleus of probability mass p (Holtzman et al. 2020).
        repetition_penalty: > 1 discourages tokens already in the row, prompt included
            (Keskar et al. 2019).
        seed: Seeds the sampler's own `torch.Generator`: the same seed, model and arguments
            give the same samples. None draws from torch's global generator.
        grammar: A `NoteGrammar`; when given, tokens it forbids are never drawn, the
            prompt must be a valid prefix, and each row's new tokens hold a note before
            any `<eos>` or second bar line (unless the cap `max_new_tokens` comes first).
        use_cache: Carry the state from step to step; False re-runs the whole (windowed)
            context every step (slow; for tests and benchmarks).
        eos_id: A row ends after drawing this id (the id is kept in its output).
        stop: One or more criteria (e.g. `StopAfterBars`), copied for each row; a row ends
            before the token at which any of them fires.
        min_new_tokens: `eos_id` is not drawn before this many new tokens (text: a
            continuation adds at least a word instead of ending the prompt's line at once).

    Returns:
        For each row, the NEW tokens only (not the prompt): up to and including `eos_id`,
        up to but excluding the token a stop criterion fired on, or `max_new_tokens` ids.

    Raises:
        GrammarError: If `grammar` is given and the prompt is not a valid prefix.
        ValueError: On an empty prompt or an out-of-range argument.
    """
    _check_args(prompt, max_new_tokens, n_samples, temperature, top_k, top_p, repetition_penalty)
    device = next(model.parameters()).device
    rows = _Rows(prompt, n_samples, max_new_tokens, grammar, stop, device)
    generator = None if seed is None else torch.Generator(device).manual_seed(seed)
    greedy = temperature == 0 or top_k == 1
    was_training = model.training
    model.eval()
    try:
        max_len = getattr(model, "max_len", None)
        start = window_start(0, rows.length, max_len)
        # every row holds the same prompt: prefill one row, then copy its state to N
        logits, state = model(rows.tokens[:1, start : rows.length])  # prefill: (1, T, V)
        if n_samples > 1:
            logits, state = logits[:, -1:].repeat(n_samples, 1, 1), expand_state(state, n_samples)
        _check_vocab(logits.size(-1), grammar)
        if repetition_penalty != 1.0:
            rows.track_seen(logits.size(-1))
        for step in range(max_new_tokens):
            allowed = rows.allowed()
            if eos_id is not None and step < min_new_tokens:
                allowed = _without(allowed, eos_id, logits[:, -1])
            scores = filter_logits(
                logits[:, -1], temperature=temperature, top_k=top_k, top_p=top_p,
                repetition_penalty=repetition_penalty, seen=rows.seen, allowed=allowed,
            )  # fmt: skip
            rows.append(draw(scores, greedy, generator), eos_id)
            if rows.all_done() or step == max_new_tokens - 1:
                break
            new_start = window_start(start, rows.length, max_len)
            if use_cache and new_start == start:
                logits, state = model(rows.tokens[:, rows.length - 1 : rows.length], state)
            else:  # no cache, or the window slid: encode the whole window afresh
                start = new_start
                logits, state = model(rows.tokens[:, start : rows.length])
    finally:
        model.train(was_training)
    return rows.outputs()


def _without(allowed: torch.Tensor | None, token: int, scores: torch.Tensor) -> torch.Tensor:
    """The mask ``allowed`` (all True when None) shaped as ``scores`` (N, V), with ``token``
    forbidden in every row that has anything else left to draw."""
    mask = torch.ones_like(scores, dtype=torch.bool) if allowed is None else allowed.clone()
    only = mask[:, token] & (mask.sum(-1) == 1)  # e.g. a finished row, held at its eos
    mask[:, token] = only
    return mask


def expand_state(state, n: int):
    """A state of n rows, each a copy of the one-row `state`, for any backbone."""
    if state is None:  # a stateless model (a test double)
        return None
    if isinstance(state, KVCache):
        return state.expand(n)  # (1, nh, P, hs) → (n, nh, P, hs) per layer
    if isinstance(state, torch.Tensor):
        return state.repeat(1, n, 1)  # GRU/RNN h: (layers, 1, H) → (layers, n, H)
    return tuple(expand_state(s, n) for s in state)  # LSTM (h, c)


def _check_args(prompt, max_new_tokens, n_samples, temperature, top_k, top_p, penalty) -> None:
    if len(prompt) == 0:
        raise ValueError("the prompt is empty; start from at least the <bos> id")
    if max_new_tokens < 1 or n_samples < 1:
        raise ValueError(
            f"max_new_tokens and n_samples must be >= 1: {max_new_tokens}, {n_samples}"
        )
    if temperature < 0 or (top_k is not None and top_k < 1) or penalty <= 0:
        raise ValueError(f"need temperature >= 0, top_k >= 1, repetition_penalty > 0: "
                         f"{temperature}, {top_k}, {penalty}")  # fmt: skip
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def _check_vocab(vocab_size: int, grammar: NoteGrammar | None) -> None:
    if grammar is not None and len(grammar.kinds) != vocab_size:
        raise ValueError(
            f"the grammar knows {len(grammar.kinds)} token ids but the model {vocab_size}; "
            "were they built from the same tokenizer?"
        )


class _Rows:
    """The batch's bookkeeping: tokens so far, which rows ended where, grammar states,
    stop criteria, and which tokens each row has seen (for the repetition penalty)."""

    def __init__(self, prompt, n: int, max_new: int, grammar, stop, device) -> None:
        self.prompt_len = self.length = len(prompt)
        ids = torch.as_tensor(list(prompt), dtype=torch.long, device=device)  # (P,)
        self.tokens = torch.empty(n, self.length + max_new, dtype=torch.long, device=device)
        self.tokens[:, : self.length] = ids
        self.ends: list[int | None] = [None] * n  # where each finished row's output ends
        self.grammar = grammar
        self.states: list[GrammarState] = []
        if grammar is not None:  # the new part must hold a note before it may end
            self.states = [grammar.needing_note(_prefix(grammar, prompt))] * n
        criteria = [] if stop is None else [stop] if hasattr(stop, "update") else list(stop)
        self.stops = [[copy.deepcopy(c) for c in criteria] for _ in range(n)]
        for c in (c for row in self.stops for c in row):
            c.start(list(prompt))
        self.seen: torch.Tensor | None = None  # (N, V), only for a repetition penalty

    def allowed(self) -> torch.Tensor | None:
        """The grammar's mask (N, V), or None without a grammar."""
        if self.grammar is None:
            return None
        mask = self.grammar.allowed_batch(self.states)  # (N, V) numpy
        return torch.from_numpy(mask).to(self.tokens.device)

    def append(self, next_ids: torch.Tensor, eos_id: int | None) -> None:
        """Writes one drawn token per row (N,) and ends the rows that stop here."""
        done = torch.tensor([e is not None for e in self.ends], device=next_ids.device)
        if eos_id is not None:  # finished rows keep emitting eos: defined input for the model
            next_ids = next_ids.masked_fill(done, eos_id)
        self.tokens[:, self.length] = next_ids
        if self.seen is not None:
            self.seen[torch.arange(len(next_ids)), next_ids] = True
        for r, tid in enumerate(next_ids.tolist()):
            if self.ends[r] is None:
                self._advance_row(r, tid, eos_id)
        self.length += 1

    def _advance_row(self, r: int, tid: int, eos_id: int | None) -> None:
        if any([c.update(tid) for c in self.stops[r]]):  # a list: every criterion sees tid
            self.ends[r] = self.length
            return
        if self.grammar is not None:
            self.states[r] = self.grammar.step(self.states[r], tid)
        if tid == eos_id:
            self.ends[r] = self.length + 1

    def track_seen(self, vocab_size: int) -> None:
        """Starts recording which ids each row holds, the prompt's included."""
        self.seen = torch.zeros(
            self.tokens.size(0), vocab_size, dtype=torch.bool, device=self.tokens.device
        )  # (N, V)
        self.seen[:, self.tokens[0, : self.length]] = True

    def all_done(self) -> bool:
        return all(e is not None for e in self.ends)

    def outputs(self) -> list[list[int]]:
        rows = self.tokens[:, self.prompt_len : self.length].tolist()
        ends = [self.length if e is None else e for e in self.ends]
        return [row[: e - self.prompt_len] for row, e in zip(rows, ends, strict=True)]


def _prefix(grammar: NoteGrammar, prompt: Sequence[int]) -> GrammarState:
    """The grammar state after the prompt, with an error that says where it goes wrong."""
    state = grammar.initial
    for i, tid in enumerate(prompt):
        try:
            state = grammar.step(state, tid)
        except GrammarError as err:
            raise GrammarError(
                f"the prompt is not a valid note-token prefix: token {i} (id {tid}) is not "
                f"allowed after the {i} before it"
            ) from err
    return state
