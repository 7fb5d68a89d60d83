"""Equal wall-clock budget on WikiText-2: the plain WLM loop's curve, and the plot of both.

    # 1. the project (its own process): WLM's recipe through the stateful path
    musicgen-train experiment=wikitext2_lstm_wlm logger=csv trainer.max_time=00:00:47:00 \\
        trainer.check_val_every_n_epoch=null trainer.val_check_interval=500
    # 2. the plain loop (after it, or before; never beside it on a shared machine)
    python bench/text_budget.py plain --minutes 47 --val-every 500 --out plain.csv
    # 3. the curve: valid perplexity against tokens seen, both runs
    python bench/text_budget.py plot --project <run>/csv/metrics.csv --plain plain.csv \\
        --out curve.png
    musicgen-eval ckpt=<run>/checkpoints/last.ckpt split=test segments=20

The budget is wall time including validation, on both sides: both validate every
``--val-every`` steps on the whole valid split cut into 20 streams (``stream_nll``, the
cut the project's stateful validation uses). The plain loop's test perplexity is scored
after its budget, as ``musicgen-eval`` scores the project's checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from text import BATCH, BPTT, LR, ROOT, WLMModel, wlm_step

from musicgen.data.streams import stream_cut
from musicgen.data.text import TextDataModule
from musicgen.evaluation.likelihood import stream_nll
from musicgen.models import RecurrentLM


class _Batchfirst(torch.nn.Module):
    """WLMModel behind the project's (B, T) interface, for ``stream_nll``."""

    def __init__(self, wlm: WLMModel) -> None:
        super().__init__()
        self.wlm, self.max_len = wlm, None

    def forward(self, ids, state=None):
        logits, state = self.wlm(ids.t(), state)
        return logits.transpose(0, 1), state


@torch.no_grad()
def split_ppl(wlm: WLMModel, dm: TextDataModule, split: str, batches: int | None = None) -> float:
    """Perplexity of a split cut into 20 streams; ``batches``: only the first ``batches``
    x 35 tokens of each, as the project's ``trainer.limit_val_batches`` scores them."""
    wlm.eval()
    ids = torch.from_numpy(dm.cache.document(dm.splits[split][0]).astype("int64"))
    if batches is None:
        nll = stream_nll(_Batchfirst(wlm), ids, segments=BATCH, chunk=BPTT).nats_per_token
    else:
        length, _ = stream_cut(len(ids), BATCH)
        rows = ids[: length * BATCH].view(BATCH, length)[:, : batches * BPTT + 1].t()  # (T, B)
        total, hidden = 0.0, None
        for i in range(0, rows.shape[0] - 1, BPTT):
            logits, hidden = wlm(rows[i : i + BPTT], hidden)
            total += float(F.cross_entropy(logits.flatten(0, 1), rows[i + 1 : i + 1 + BPTT]
                                           .reshape(-1), reduction="sum"))  # fmt: skip
        nll = total / ((rows.shape[0] - 1) * BATCH)
    wlm.train()
    return math.exp(nll)


def plain(args) -> None:
    dm = TextDataModule({"type": "word"}, name="wikitext2", root=args.root, seq_len=BPTT,
                        batch_size=BATCH, cache_dir=args.cache_dir)  # fmt: skip
    dm.prepare_data()
    dm.setup()
    tokens = torch.from_numpy(dm.cache.document(dm.splits["train"][0]).astype("int64"))
    torch.manual_seed(0)  # the project's seed: the same initial weights
    wlm = WLMModel(RecurrentLM(dm.vocab_size, 650, 650, 2, dropout=0.5, tie_weights=True))
    wlm.train()
    n = tokens.numel() // BATCH
    data = tokens[: n * BATCH].view(BATCH, n).t().contiguous()  # (n, B)
    start, step, hidden, seen = time.perf_counter(), 0, None, 0
    with open(args.out, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["step", "tokens", "seconds", "val_ppl"])
        while time.perf_counter() - start < args.minutes * 60:
            i = (step * BPTT) % (n - 1)
            if i == 0:
                hidden = None  # a new epoch starts the streams again
            size = min(BPTT, n - 1 - i)
            hidden = wlm_step(wlm, data[i : i + size], data[i + 1 : i + 1 + size].reshape(-1),
                              hidden, LR)  # fmt: skip
            step, seen = step + 1, seen + size * BATCH
            if step % args.val_every == 0:
                ppl = split_ppl(wlm, dm, "val", args.val_batches)
                out.writerow([step, seen, round(time.perf_counter() - start, 1), ppl])
                f.flush()
                print(f"step {step} tokens {seen} val ppl {ppl:.2f}", flush=True)
    print(f"plain loop: {step} steps, {seen} tokens in {args.minutes} min")
    if not args.skip_test:
        print(f"plain loop test ppl {split_ppl(wlm, dm, 'test'):.2f}", flush=True)


def plot(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(args.project.read_text().splitlines()))
    # the CSV's step column counts the steps done (musicgen.training.loggers)
    project = [(int(r["step"]) * BATCH * BPTT, float(r["val/ppl"])) for r in rows
               if r.get("val/ppl")]  # fmt: skip
    plain_rows = list(csv.DictReader(args.plain.read_text().splitlines()))
    baseline = [(int(r["tokens"]), float(r["val_ppl"])) for r in plain_rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, points in (("project (stateful, Lightning)", project), ("plain WLM loop", baseline)):
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
    ax.set(xlabel="training tokens seen", ylabel="valid perplexity", yscale="log",
           title="WikiText-2, 2x650 tied LSTM, SGD lr 20, equal wall time")  # fmt: skip
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plain")
    p.add_argument("--minutes", type=float, default=47.0)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--val-batches", type=int, default=None, help="as limit_val_batches")
    p.add_argument("--skip-test", action="store_true", help="no test perplexity at the end")
    p.add_argument("--out", default="plain.csv")
    p.add_argument("--root", default=str(ROOT))
    p.add_argument("--cache-dir", default="data/cache")
    q = sub.add_parser("plot")
    q.add_argument("--project", type=Path, required=True)
    q.add_argument("--plain", type=Path, required=True)
    q.add_argument("--out", default="curve.png")
    args = ap.parse_args()
    (plain if args.command == "plain" else plot)(args)


if __name__ == "__main__":
    main()
