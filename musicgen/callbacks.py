"""Lightning callbacks: checkpoints and what each run records about its corpus."""

from __future__ import annotations

import math
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import WandbLogger


def checkpoint_callbacks(ckpt_dir: Path, every_n_train_steps: int, save_top_k: int) -> list:
    """``last.ckpt`` every ``every_n_train_steps`` steps, and the best by ``val/loss``.

    Lightning writes each checkpoint to a temporary file and renames it, so a run killed
    at any moment leaves the previous checkpoint readable.
    """
    last = ModelCheckpoint(
        dirpath=ckpt_dir, save_last=True, save_top_k=0, every_n_train_steps=every_n_train_steps
    )
    best = ModelCheckpoint(
        dirpath=ckpt_dir, monitor="val/loss", mode="min", save_top_k=save_top_k,
        filename="best-step{step}-loss{val/loss:.4f}", auto_insert_metric_name=False,
    )  # fmt: skip
    return [last, best]


class CorpusSummary(pl.Callback):
    """Logs the corpus manifest's figures (and the manifest file to W&B) once per run."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        dm = trainer.datamodule
        cache = getattr(dm, "cache", None)
        if cache is None or trainer.global_rank != 0:
            return
        m = cache.manifest
        summary = {
            "corpus/unigram_nats_per_token": unigram_entropy(m["token_counts"]),
            "corpus/name": m["name"],
            "corpus/key": m["key"][:16],
            **{f"corpus/{k}": v for k, v in m["counts"].items()},
            **{f"corpus/{k}_documents": len(v) for k, v in dm.splits.items()},
        }
        for lg in trainer.loggers:
            lg.log_hyperparams(summary)
            if isinstance(lg, WandbLogger):
                lg.experiment.save(str(cache.path / "manifest.json"), base_path=str(cache.path))


def unigram_entropy(counts: list[int]) -> float:
    """Entropy (nats per token) of the corpus's token frequencies: the loss of a model that
    ignores context, the baseline a language model must beat."""
    total = sum(counts)
    return -sum(c / total * math.log(c / total) for c in counts if c) if total else 0.0
