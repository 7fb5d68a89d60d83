"""What ``musicgen-train`` does (its entry point, :mod:`musicgen.cli.train`, imports this
module once the command line is parsed): build the run from its config, fit, summarise."""

from __future__ import annotations

import contextlib
import logging
import shutil
import warnings
from pathlib import Path

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from musicgen.cli.common import UserError, command
from musicgen.training.callbacks import unigram_entropy
from musicgen.training.checkpoint import newest_last_checkpoint, read_checkpoint
from musicgen.training.loggers import (
    KeepEarlierRows,
    finish_wandb,
    set_aside_csv_log,
    wandb_sync_hint,
)
from musicgen.training.provenance import code_commit


class _NoAdverts(logging.Filter):
    """Lightning's rank-zero info carries an advertisement for a hosted service."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


def quieter_training() -> None:
    """Drop the lines a training run prints that tell the user nothing about it."""
    for name in ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_NoAdverts())
    # Lightning 2.6 calls torch's own deprecated LeafSpec check: not the user's concern
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


def resolve_resume(ckpt_path: str | None, run_dir: Path, name: str) -> tuple[Path | None, Path]:
    """The checkpoint to resume from and the run folder to keep writing into.

    ``last`` means this run folder's ``last.ckpt`` if it has one (``hydra.run.dir`` pinned),
    otherwise the newest ``last.ckpt`` under ``outputs/`` of a run with the same name.
    """
    if not ckpt_path:
        return None, run_dir
    if ckpt_path == "last":
        own = run_dir / "checkpoints" / "last.ckpt"
        ckpt = own if own.is_file() else newest_last_checkpoint(name)
    else:
        ckpt = Path(ckpt_path)
        if not ckpt.is_file():
            raise UserError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    return ckpt, ckpt.parent.parent


def drop_fresh_folder(fresh: Path, run_dir: Path) -> None:
    """A resumed run keeps writing into ``run_dir``: the folder Hydra made for this job
    goes, its resolved config kept as ``run_dir/.hydra/resume-<folder>`` and its log
    continued in ``run_dir``.

    Only a folder holding nothing but Hydra's own files is removed.
    """
    hydra_only = all(p.name == ".hydra" or p.suffix == ".log" for p in fresh.glob("*"))
    if not fresh.is_dir() or not hydra_only:
        return
    if (fresh / ".hydra").is_dir():
        shutil.copytree(fresh / ".hydra", run_dir / ".hydra" / f"resume-{fresh.name}")
    for handler in logging.getLogger().handlers:  # Hydra's job log: <folder>/<job>.log
        if isinstance(handler, logging.FileHandler):
            log = Path(handler.baseFilename)
            if log.parent == fresh:
                handler.close()
                handler.baseFilename = str(run_dir / log.name)
                handler.mode = "a"
    shutil.rmtree(fresh, ignore_errors=True)
    day = fresh.parent  # outputs/train/<date>: removed when this job was its only one
    if day.parent.name == "train" and day.parent.parent.name == "outputs":
        with contextlib.suppress(OSError):
            day.rmdir()


def train(cfg: DictConfig, run_dir: Path) -> float | None:
    """Build everything from the config, fit, print a summary; returns the best val loss."""
    quieter_training()
    name = cfg.name
    fresh = run_dir
    ckpt, run_dir = resolve_resume(cfg.ckpt_path, run_dir, name)
    if ckpt:  # refuse a foreign or code-carrying file with one line, before Lightning reads it
        read_checkpoint(ckpt)
    if fresh != run_dir:
        drop_fresh_folder(fresh, run_dir)
    earlier_csv = set_aside_csv_log(run_dir) if ckpt else None
    pl.seed_everything(cfg.seed, workers=True)
    data = instantiate(cfg.data, _convert_="all")
    model = instantiate(cfg.model, vocab_size=data.vocab_size)
    if cfg.compile:
        model.compile()
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved["model"]["vocab_size"] = data.vocab_size
    module = instantiate(cfg.module, model=model, tokenizer=data.tokenizer)
    module.run_config = resolved  # not through instantiate: it would build its _target_s
    module.code_commit = code_commit()
    loggers = instantiate(cfg.logger, run_dir=run_dir, name=name, _convert_="all")
    for lg in loggers:
        lg.log_hyperparams(resolved)
    cb = cfg.callbacks
    callbacks = [
        *instantiate(cb.checkpoint, ckpt_dir=run_dir / "checkpoints"),  # [last, best]
        instantiate(cb.corpus),
        instantiate(cb.progress),
        instantiate(cb.samples, _convert_="all"),
    ]
    if "attention" in cb:  # configs saved before the attention maps have no entry
        callbacks.append(instantiate(cb.attention))
    if earlier_csv is not None:
        callbacks.append(KeepEarlierRows(earlier_csv, loggers[0]))
    trainer = instantiate(
        cfg.trainer, logger=loggers, callbacks=callbacks, default_root_dir=str(run_dir)
    )
    try:
        # weights_only: Lightning 2.6 passes None to torch.load, which an environment
        # variable (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD) turns into a full unpickling
        resume = str(ckpt) if ckpt else None
        trainer.fit(module, datamodule=data, ckpt_path=resume, weights_only=True)
        return _summary(trainer, callbacks[1], loggers, run_dir, data)
    finally:
        finish_wandb(loggers)  # the next job of a sweep must start its own W&B run


def _summary(trainer: pl.Trainer, best, loggers, run_dir: Path, data) -> float | None:
    if trainer.global_rank != 0:
        return None
    print(f"\nrun folder: {run_dir}")
    if trainer.fast_dev_run:  # Lightning saved no log, and LastCheckpoint no checkpoint
        print("fast_dev_run: a check of the code path only; no checkpoint or CSV log was kept"
              " (debug=fast keeps its one-step run under outputs/debug/)")  # fmt: skip
        return None
    score = best.best_model_score
    if score is not None:
        cache = getattr(data, "cache", None)  # a pair corpus (harmoniser) has none
        baseline = unigram_entropy(cache.manifest["token_counts"]) if cache else None
        versus = f" (unigram baseline {baseline:.4f})" if baseline is not None else ""
        print(
            f"best val/loss: {float(score):.4f} nats/token{versus}"
            f"  checkpoint: {best.best_model_path}"
        )
    last = run_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        print(f"last checkpoint: {last} (step {trainer.global_step})")
    print(f"CSV log: {run_dir / 'csv' / 'metrics.csv'}")
    ckpt = best.best_model_path or run_dir / "checkpoints" / "last.ckpt"
    print(f"sample from it: {command('musicgen-sample')} ckpt={ckpt} n_samples=4 out_dir=samples/")
    hint = wandb_sync_hint(loggers)
    if hint:
        print(f"W&B ran offline (no credentials); upload it with: {command('wandb')} {hint}")
    return float(score) if score is not None else None
