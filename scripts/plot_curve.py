"""A training run's curve as a PNG: train/loss (and its running mean) and val/loss by step.

    python scripts/plot_curve.py outputs/train/.../csv/metrics.csv --out docs/folk_curve.png \
        --title "folk_cpu, 55 min on 2 CPU cores"

Reads the CSV log every musicgen-train run writes (``<run>/csv/metrics.csv``); a log
without a val/loss column plots the training loss alone.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def read_curve(path: Path) -> dict[str, list[tuple[int, float]]]:
    """``{"train/loss": [(step, loss), ...], "val/loss": [...]}`` from a CSV log."""
    curves: dict[str, list[tuple[int, float]]] = {"train/loss": [], "val/loss": []}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            for key, points in curves.items():
                value = row.get(key) or ""
                if value and row.get("step"):
                    loss = float(value)
                    if math.isfinite(loss):
                        points.append((int(float(row["step"])), loss))
    if not curves["train/loss"] and not curves["val/loss"]:
        raise SystemExit(f"plot_curve.py: error: {path}: no train/loss or val/loss column")
    return curves


def running_mean(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot(curves: dict[str, list[tuple[int, float]]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    train = curves["train/loss"]
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.8, label="train/loss")
        ax.plot(steps, running_mean(list(losses), 10), color="tab:blue", lw=1.5,
                label="train/loss, mean of 10 logs")  # fmt: skip
    val = curves["val/loss"]
    if val:
        steps, losses = zip(*val, strict=True)
        ax.plot(steps, losses, "o-", color="tab:red", lw=1.5, label="val/loss")
        ax.annotate(f"{losses[-1]:.4f}", (steps[-1], losses[-1]), textcoords="offset points",
                    xytext=(4, 6), color="tab:red")  # fmt: skip
    ax.set_xlabel("training step")
    ax.set_ylabel("nats per token")
    low = min(v for points in curves.values() for _, v in points)
    ax.set_ylim(max(0.0, low - 0.1), min(3.0, max(v for _, v in val or train) + 0.6))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="<run>/csv/metrics.csv")
    parser.add_argument("--out", type=Path, default=Path("curve.png"))
    parser.add_argument("--title", default="training curve")
    args = parser.parse_args()
    if not args.csv.is_file():
        raise SystemExit(f"plot_curve.py: error: {args.csv}: no such file")
    plot(read_curve(args.csv), args.out, args.title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
