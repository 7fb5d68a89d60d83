"""Training throughput: our Lightning module against a minimal plain-PyTorch loop.

    python bench/train.py [--steps 60] [--warmup 10] [--batch 16] [--seq 256] [--repeats 2]

Both loops train the same backbone (same initial weights) on the same batches of the
embedded folk corpus with AdamW, the warm-up/cosine schedule and gradient clipping; only
the loop differs. Timing starts after ``--warmup`` steps. Runs alternate (plain, Lightning,
plain, ...) and the best of ``--repeats`` is kept, so machine noise hits both alike.
Prints tokens/s and the ratio Lightning / plain (goal >= 0.95).
"""

from __future__ import annotations

import argparse
import copy
import platform
import time
from functools import partial

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from musicgen.data import MusicDataModule
from musicgen.models import RecurrentLM, TransformerLM
from musicgen.tokenizers import NoteTokenizer
from musicgen.training.module import LanguageModel, param_groups, warmup_cosine

OPT = partial(torch.optim.AdamW, lr=1e-3, betas=(0.9, 0.95))


def batches(dm: MusicDataModule, n: int) -> list:
    loader = torch.utils.data.DataLoader(dm.dataset("train"), batch_size=dm.batch_size)
    out = []
    while len(out) < n:
        out.extend(loader)
    return out[:n]


def plain_loop(model, data, warmup: int) -> float:
    """Seconds for the steps after ``warmup``: forward, loss, backward, clip, step."""
    opt = OPT(param_groups(model, 0.1))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, partial(warmup_cosine, warmup=10, total=len(data), floor=0.1)
    )
    model.train()
    for i, (x, y) in enumerate(data):
        if i == warmup:
            start = time.perf_counter()
        logits, _ = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    return time.perf_counter() - start


class _Timer(pl.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        self.end = time.perf_counter()


def lightning_loop(model, data, warmup: int) -> float:
    module = LanguageModel(model, optimizer=OPT, warmup_steps=10)
    timer = _Timer(warmup)
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=len(data), logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, gradient_clip_val=1.0,
        limit_val_batches=0, callbacks=[timer],
    )  # fmt: skip
    loader = torch.utils.data.DataLoader(data, batch_size=None)  # the same tensors, in order
    trainer.fit(module, train_dataloaders=loader)
    return timer.end - timer.start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    dm = MusicDataModule(NoteTokenizer(), seq_len=args.seq, batch_size=args.batch)
    dm.prepare_data(progress=False)
    data = batches(dm, args.steps)
    v = dm.vocab_size
    models = {
        "lstm (2x512)": RecurrentLM(v, 256, hidden_dim=512, num_layers=2, tie_weights=True),
        "transformer (4x256)": TransformerLM(v, 256, n_layers=4, n_heads=4, max_len=args.seq),
    }
    tokens = (args.steps - args.warmup) * args.batch * args.seq
    threads = torch.get_num_threads()
    print(f"machine: {platform.machine()}, {threads} threads, torch {torch.__version__}")
    print(f"batch {args.batch} x {args.seq} tokens, {args.steps - args.warmup} timed steps")
    print("| backbone | plain PyTorch tokens/s | Lightning tokens/s | ratio |")
    print("|---|---|---|---|")
    for name, model in models.items():
        best = {"plain": float("inf"), "lightning": float("inf")}
        for _ in range(args.repeats):
            for kind, loop in (("plain", plain_loop), ("lightning", lightning_loop)):
                best[kind] = min(best[kind], loop(copy.deepcopy(model), data, args.warmup))
        p, lt = tokens / best["plain"], tokens / best["lightning"]
        print(f"| {name} | {p:,.0f} | {lt:,.0f} | {lt / p:.3f} |")


if __name__ == "__main__":
    main()
