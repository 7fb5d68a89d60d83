"""Text throughput: the project's stateful training step against a plain loop after WLM.

    python bench/text.py [--steps 25] [--warmup 5] [--threads 1 2] [--repeats 2]

WLM is PyTorch's word_language_model example. Both sides train the same model (2 x 650
LSTM, tied, dropout 0.5, the WikiText-2 word vocabulary; the same initial weights) on
the same batches (the training split cut into 20 streams, 35 tokens of each per batch,
the state carried and detached) with SGD at lr 20 and the gradient norm clipped at 0.25.

- project: ``musicgen-train experiment=wikitext2_lstm_wlm``'s pieces, in process: the
  ``TextDataModule`` stateful loader, ``LanguageModel`` and a Lightning ``Trainer`` with
  the CSV logger, as a run has them;
- plain: a loop written from WLM's description (batchify, get_batch, repackage_hidden,
  a sequence-first ``nn.LSTM``, manual SGD update), with no framework.

Timing starts after ``--warmup`` steps; runs alternate (plain, project, plain, ...) at each
thread count and the best of ``--repeats`` is kept. Prints tokens/s and project / plain.
Needs ../shared/data/text/wikitext-2 (or --root).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import CSVLogger
from torch import nn

from musicgen.data.text import TextDataModule
from musicgen.models import RecurrentLM
from musicgen.training.module import LanguageModel

BPTT, BATCH, LR, CLIP = 35, 20, 20.0, 0.25
ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text" / "wikitext-2"


class WLMModel(nn.Module):
    """WLM's RNNModel, sequence first: encoder, LSTM, decoder tied to the encoder."""

    def __init__(self, ours: RecurrentLM) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.encoder = nn.Embedding(*ours.embed.weight.shape)
        self.rnn = nn.LSTM(ours.rnn.input_size, ours.rnn.hidden_size, ours.rnn.num_layers,
                           dropout=0.5)  # fmt: skip
        self.decoder = nn.Linear(ours.rnn.hidden_size, ours.embed.num_embeddings)
        self.decoder.weight = self.encoder.weight
        with torch.no_grad():  # the same initial weights as the project's model
            self.encoder.weight.copy_(ours.embed.weight)
            self.decoder.bias.copy_(ours.head.bias)
            for name, p in self.rnn.named_parameters():
                p.copy_(getattr(ours.rnn, name))

    def forward(self, ids, hidden):  # ids (T, B)
        out, hidden = self.rnn(self.drop(self.encoder(ids)), hidden)  # (T, B, H)
        return self.decoder(self.drop(out)), hidden  # (T, B, V)


def plain_loop(model: RecurrentLM, tokens: torch.Tensor, steps: int, warmup: int) -> float:
    """Seconds for the steps after ``warmup``, WLM's train() loop."""
    wlm = WLMModel(model)
    wlm.train()
    n = tokens.numel() // BATCH
    data = tokens[: n * BATCH].view(BATCH, n).t().contiguous()  # batchify: (n, B)
    hidden = None
    for step, i in enumerate(range(0, steps * BPTT, BPTT)):
        if step == warmup:
            start = time.perf_counter()
        size = min(BPTT, n - 1 - i)
        x, y = data[i : i + size], data[i + 1 : i + 1 + size].reshape(-1)  # get_batch
        hidden = wlm_step(wlm, x, y, hidden, LR)
    return time.perf_counter() - start


def wlm_step(wlm: WLMModel, x: torch.Tensor, y: torch.Tensor, hidden, lr: float):
    """One step of WLM's train(): repackage the state, forward, backward, clip, SGD."""
    hidden = None if hidden is None else tuple(h.detach() for h in hidden)  # repackage_hidden
    wlm.zero_grad()
    logits, hidden = wlm(x, hidden)
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(wlm.parameters(), CLIP)
    with torch.no_grad():
        for p in wlm.parameters():
            p.add_(p.grad, alpha=-lr)
    return hidden


class _Timer(pl.Callback):
    def __init__(self, steps: int, warmup: int) -> None:
        self.steps, self.warmup, self.start, self.end = steps, warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.steps - 1:
            self.end = time.perf_counter()


def project_loop(model: RecurrentLM, dm: TextDataModule, steps: int, warmup: int) -> float:
    """Seconds for the steps after ``warmup``, through the data module, module and Trainer."""
    module = LanguageModel(
        model, optimizer=lambda p: torch.optim.SGD(p, lr=LR), weight_decay=0.0,
        schedule="plateau", stateful=True,
    )  # fmt: skip
    timer = _Timer(steps, warmup)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = pl.Trainer(
            accelerator="cpu", max_steps=steps, logger=CSVLogger(tmp), log_every_n_steps=10,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            gradient_clip_val=CLIP, limit_val_batches=0, callbacks=[timer],
            default_root_dir=tmp, use_distributed_sampler=False,
        )  # fmt: skip
        trainer.fit(module, datamodule=dm)
    return timer.end - timer.start


def same_losses(model: RecurrentLM, dm: TextDataModule, tokens: torch.Tensor, steps: int = 4):
    """Both loops' first training losses with dropout off: the same computation gives the
    same numbers (up to float rounding), so the timing compares like with like."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    wlm = WLMModel(model)
    wlm.drop.p, wlm.rnn.dropout = 0.0, 0.0
    n = tokens.numel() // BATCH
    data = tokens[: n * BATCH].view(BATCH, n).t().contiguous()
    plain, hidden = [], None
    for i in range(0, steps * BPTT, BPTT):
        x, y = data[i : i + BPTT], data[i + 1 : i + 1 + BPTT].reshape(-1)
        with torch.no_grad():
            logits, _ = wlm(x, None if hidden is None else tuple(h.detach() for h in hidden))
            plain.append(float(F.cross_entropy(logits.view(-1, logits.shape[-1]), y)))
        hidden = wlm_step(wlm, x, y, hidden, LR)
    fresh = RecurrentLM(dm.vocab_size, 650, 650, num_layers=2, dropout=0.0, tie_weights=True)
    fresh.load_state_dict(state)
    losses = []

    class _Losses(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            losses.append(float(outputs["loss"]))

    module = LanguageModel(fresh, optimizer=lambda p: torch.optim.SGD(p, lr=LR),
                           weight_decay=0.0, schedule="plateau", stateful=True)  # fmt: skip
    pl.Trainer(accelerator="cpu", max_steps=steps, logger=False, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False, gradient_clip_val=CLIP,
               limit_val_batches=0, callbacks=[_Losses()]).fit(module, datamodule=dm)  # fmt: skip
    return plain, losses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--root", default=str(ROOT))
    ap.add_argument("--cache-dir", default="data/cache")
    ap.add_argument("--check", action="store_true", help="first check both compute the same")
    args = ap.parse_args()
    dm = TextDataModule({"type": "word"}, name="wikitext2", root=args.root, seq_len=BPTT,
                        batch_size=BATCH, cache_dir=args.cache_dir, stateful=True)  # fmt: skip
    dm.prepare_data()
    dm.setup()
    tokens = torch.from_numpy(dm.cache.document(dm.splits["train"][0]).astype("int64"))
    torch.manual_seed(0)
    model = RecurrentLM(dm.vocab_size, 650, 650, num_layers=2, dropout=0.5, tie_weights=True)
    if args.check:
        plain, ours = same_losses(model, dm, tokens)
        gap = max(abs(a - b) / a for a, b in zip(plain, ours, strict=True))
        print(f"same batches, dropout off: losses {plain} vs {ours}, largest gap {gap:.1e}")
    timed = (args.steps - args.warmup) * BATCH * BPTT
    print(f"machine: {platform.machine()}, torch {torch.__version__}, vocab {dm.vocab_size}")
    print(f"batch {BATCH} x {BPTT} tokens, {args.steps - args.warmup} timed steps")
    print("| threads | plain (WLM loop) tokens/s | project tokens/s | ratio |")
    print("|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        best = {"plain": float("inf"), "project": float("inf")}
        for _ in range(args.repeats):
            fresh = RecurrentLM(dm.vocab_size, 650, 650, num_layers=2, dropout=0.5,
                                tie_weights=True)  # fmt: skip
            fresh.load_state_dict(model.state_dict())
            best["plain"] = min(best["plain"], plain_loop(fresh, tokens, args.steps, args.warmup))
            fresh.load_state_dict(model.state_dict())
            best["project"] = min(best["project"], project_loop(fresh, dm, args.steps, args.warmup))
        p, q = timed / best["plain"], timed / best["project"]
        print(f"| {threads} | {p:,.0f} | {q:,.0f} | {q / p:.3f} |", flush=True)


if __name__ == "__main__":
    main()
