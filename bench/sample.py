"""Sampling speed: tokens/s by context length, cache on/off, batch 1/16, both backbones.

    python bench/sample.py [--steps 16] [--contexts 256 1024 4096] [--threads 2]

Models are random (speed does not depend on training): a Transformer of 4 layers x 256
(max_len 8192, so no window slides) and a 2-layer LSTM of 512. Each configuration runs
`generate` on a random prompt of the context length; the prompt's prefill is not timed (a
wrapper notes when each forward returns), only the decode steps after it, sampler overhead
included; the median step is reported, so a stall from another process does not count.
Recomputing without the cache costs a full forward pass per token, so those runs take
fewer steps, and the slowest ones (over ~10 s a token) are skipped.

Then the grammar mask: the time of `allowed_batch` + `step` for 16 rows against one
cached model step, and tokens/s of grammar-constrained vs. free sampling.

Prints a markdown table and three checks: cached time per token from the shortest to the
longest context (roughly flat), the cached Transformer's speed-up over recomputing at 1024,
and batch 16's tokens/s over batch 1's.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time

import torch
from torch import nn

from musicgen.generation.sampler import generate
from musicgen.models import RecurrentLM, TransformerLM
from musicgen.tokenizers import NoteTokenizer

SKIP_ABOVE_S = 10.0  # estimated seconds per recomputed step past which a run is skipped


class Clock(nn.Module):
    """Wraps a backbone and notes when each call returns; the first is the prompt's prefill.

    The gap between two returns is one whole decode step: sampling, then a forward pass.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.max_len = model, model.max_len
        self.returns: list[float] = []

    def forward(self, ids: torch.Tensor, state=None):
        out = self.model(ids, state)
        self.returns.append(time.perf_counter())
        return out

    def step_time(self) -> float:
        """Median seconds per decode step: a stall on a shared machine does not count."""
        gaps = [b - a for a, b in itertools.pairwise(self.returns)]
        return statistics.median(gaps)


def decode_rate(model: nn.Module, context: int, batch: int, steps: int, cache: bool) -> float:
    """Seconds per decode step (one token for every row) after a prefill of `context`."""
    clock = Clock(model)
    prompt = torch.randint(3, model_vocab(model), (context,)).tolist()
    # steps + 1 draws need steps forward passes after the prefill
    generate(clock, prompt, max_new_tokens=steps + 1, n_samples=batch, seed=0, use_cache=cache)
    return clock.step_time()


def model_vocab(model: nn.Module) -> int:
    emb = model.tok_emb if isinstance(model, TransformerLM) else model.embed
    return emb.num_embeddings


def speed_table(models: dict, contexts: list[int], steps: int) -> dict:
    """{(name, context, batch, cache): seconds per step, or None when skipped}."""
    results: dict = {}
    for name, model in models.items():
        for batch in (1, 16):
            prefill = None
            for context in contexts:
                results[(name, context, batch, True)] = decode_rate(
                    model, context, batch, steps, True
                )
                prefill = time_prefill(model, context, batch) if prefill is None else prefill
                est = prefill * context / contexts[0]  # a recomputed step ~ a prefill (linear)
                n = max(2, min(steps // 2, int(10 / max(est, 1e-3))))
                ok = est < SKIP_ABOVE_S
                results[(name, context, batch, False)] = (
                    decode_rate(model, context, batch, n, False) if ok else None
                )
                print(f"  {name} ctx={context} batch={batch} done", flush=True)
    return results


@torch.no_grad()
def time_prefill(model: nn.Module, context: int, batch: int) -> float:
    ids = torch.randint(3, model_vocab(model), (batch, context))
    start = time.perf_counter()
    model(ids)
    return time.perf_counter() - start


def grammar_cost(model: TransformerLM, tok: NoteTokenizer, batch: int = 16, steps: int = 64):
    """(mask + step seconds per decode step, model seconds per step, tokens/s free and masked)."""
    g = tok.grammar
    rows = generate(model, [tok.bos_id], max_new_tokens=steps, n_samples=batch, seed=0,
                    grammar=g, eos_id=tok.eos_id)  # fmt: skip
    rows = [[tok.bos_id, *r] + [tok.eos_id] * (steps - len(r)) for r in rows]
    states = [g.from_prefix(r[:1]) for r in rows]
    start = time.perf_counter()
    for t in range(1, steps + 1):
        torch.from_numpy(g.allowed_batch(states))
        states = [g.step(s, r[t]) for s, r in zip(states, rows, strict=True)]
    mask = (time.perf_counter() - start) / steps
    rates = []
    for grammar in (None, g):
        clock = Clock(model)
        generate(clock, [tok.bos_id], max_new_tokens=steps + 1, n_samples=batch, seed=0,
                 grammar=grammar)  # fmt: skip
        rates.append(batch / clock.step_time())
    return mask, decode_rate(model, 64, batch, steps // 2, True), rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=16, help="decode steps per cached run")
    p.add_argument("--contexts", type=int, nargs="+", default=[256, 1024, 4096])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tok = NoteTokenizer()
    torch.manual_seed(0)
    models = {
        "transformer 4x256": TransformerLM(tok.vocab_size, d_model=256, n_layers=4, n_heads=4,
                                           max_len=8192, dropout=0.0).eval(),
        "lstm 2x512": RecurrentLM(tok.vocab_size, embed_dim=256, hidden_dim=512,
                                  num_layers=2).eval(),
    }  # fmt: skip
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.threads} threads, vocab {tok.vocab_size}")  # fmt: skip
    res = speed_table(models, args.contexts, args.steps)
    report(res, args.contexts, models)
    mask, step, (free, masked) = grammar_cost(models["transformer 4x256"], tok)
    print(f"\ngrammar mask, batch 16: allowed_batch + step {mask * 1e3:.2f} ms per decode step "
          f"vs. cached Transformer step {step * 1e3:.1f} ms ({mask / step:.1%}); "
          f"tokens/s free {free:.0f}, with grammar {masked:.0f}")  # fmt: skip


def report(res: dict, contexts: list[int], models: dict) -> None:
    print("\n| model | context | batch | cache | ms / step | tokens/s |")
    print("|---|---:|---:|---|---:|---:|")
    for (name, ctx, batch, cache), sec in res.items():
        if sec is None:
            print(f"| {name} | {ctx} | {batch} | {'on' if cache else 'off'} | skipped | - |")
        else:
            print(f"| {name} | {ctx} | {batch} | {'on' if cache else 'off'} | {sec * 1e3:.1f} "
                  f"| {batch / sec:.1f} |")  # fmt: skip
    lo, hi = contexts[0], contexts[-1]
    print("\nchecks:")
    for name in models:
        for batch in (1, 16):
            ratio = res[(name, hi, batch, True)] / res[(name, lo, batch, True)]
            print(f"- {name}, batch {batch}: cached time/token at {hi} / at {lo} = {ratio:.2f}"
                  f" (goal: roughly flat, ~1)")  # fmt: skip
    tf = next(iter(models))
    if 1024 in contexts and res[(tf, 1024, 1, False)] is not None:
        speedup = res[(tf, 1024, 1, False)] / res[(tf, 1024, 1, True)]
        print(f"- {tf}, context 1024, batch 1: cache speed-up {speedup:.1f}x (goal >= 10x)")
    for name in models:
        gain = res[(name, lo, 1, True)] * 16 / res[(name, lo, 16, True)]
        print(f"- {name}, context {lo}: batch 16 gives {gain:.1f}x the tokens/s of batch 1 "
              f"(goal >= 8x)")  # fmt: skip


if __name__ == "__main__":
    main()
