"""Run tracking: Weights & Biases (online or offline, never a login prompt) plus CSV."""

from __future__ import annotations

import csv
import netrc
import os
import secrets
import shutil
import string
import warnings
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger

WANDB_ID_FILE = "wandb_run_id.txt"
EARLIER_CSV = "metrics.before-resume.csv"  # a resumed run's earlier rows, until merged


def has_wandb_credentials() -> bool:
    """True when W&B could log online: an API key in the environment or a `wandb login`."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        rc = netrc.netrc(os.environ.get("NETRC") or os.path.expanduser("~/.netrc"))
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("//")[-1]
    return rc.authenticators(host) is not None


def wandb_mode(mode: str) -> str:
    """Resolve ``auto`` to online or offline; offline never contacts the servers."""
    if mode not in ("auto", "online", "offline"):
        raise ValueError(f"logger.wandb.mode must be auto, online or offline, not {mode!r}")
    if mode == "auto":
        return "online" if has_wandb_credentials() else "offline"
    return mode


def run_id(run_dir: Path) -> str:
    """The W&B run id of this run folder, made once, so a resumed run continues it."""
    path = run_dir / WANDB_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    alphabet = string.ascii_lowercase + string.digits  # the shape of W&B's own run ids
    rid = "".join(secrets.choice(alphabet) for _ in range(8))
    path.write_text(rid + "\n")
    return rid


class _StepsDone:
    """Logs each row at the number of optimizer steps done, the number checkpoints
    (``best-step20-…``), sample and attention folders (``step0000020``), the progress lines
    and the training summary show.

    Lightning hands its loggers ``_batches_that_stepped`` as it is before the step just
    taken is counted: a validation after 20 steps, the training loss of the 20th step and
    an epoch's end metrics all arrive as step 19 (its own convention, kept for
    compatibility). One added here turns that index into steps done, for CSV and W&B alike.
    """

    def log_metrics(self, metrics, step: int | None = None) -> None:
        super().log_metrics(metrics, None if step is None else step + 1)


class RunCSVLogger(_StepsDone, CSVLogger):
    """Lightning's CSV log, its ``step`` column counting steps done."""


class RunWandbLogger(_StepsDone, WandbLogger):
    """Lightning's W&B logger, ``trainer/global_step`` counting steps done, and without the
    ``anonymous`` setting: Lightning 2.6 always passes it to ``wandb.init`` (as None), and
    wandb (0.31 here), which dropped anonymous mode, warns on every run that it has no effect."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._wandb_init.pop("anonymous", None)


def build_loggers(run_dir: Path, name: str, wandb: dict | None = None) -> list[Logger]:
    """CSV always; W&B too when ``wandb`` is given (keys: project, entity, mode, tags).

    Built from ``conf/logger/*.yaml`` with the run's folder and name added at run time.
    """
    loggers: list[Logger] = [RunCSVLogger(save_dir=str(run_dir), name="csv", version="")]
    wandb_cfg = dict(wandb or {})
    if wandb_cfg:
        mode = wandb_mode(wandb_cfg.get("mode", "auto"))
        loggers.append(
            RunWandbLogger(
                name=name,
                project=wandb_cfg.get("project", "musicgen"),
                entity=wandb_cfg.get("entity"),
                tags=list(wandb_cfg.get("tags") or []),
                save_dir=str(run_dir),
                id=run_id(run_dir),
                resume="allow",
                offline=mode == "offline",
            )
        )
    return loggers


def wandb_sync_hint(loggers: list[Logger]) -> str | None:
    """For an offline W&B run, the arguments of ``wandb`` that upload it later."""
    for lg in loggers:
        if isinstance(lg, WandbLogger) and lg._offline:
            run = lg.experiment
            return f"sync {Path(run.dir).parent}"
    return None


def finish_wandb(loggers: list[Logger]) -> None:
    """Close this process's W&B run (if one was started), flushing it to disk."""
    for lg in loggers:
        if isinstance(lg, WandbLogger) and lg._experiment is not None:
            lg._experiment.finish()


def set_aside_csv_log(run_dir: Path) -> Path | None:
    """Before a resumed run builds its loggers: moves ``csv/metrics.csv`` aside, since
    Lightning's CSV writer deletes the file it finds; ``KeepEarlierRows`` puts the rows back.

    Returns the set-aside file, or None when the run has no earlier log. A file left aside
    by a resume killed before it merged is kept (``metrics.csv``, if any, then holds the
    merged rows and replaces it).
    """
    folder = run_dir / "csv"
    current, aside = folder / "metrics.csv", folder / EARLIER_CSV
    if current.is_file():
        os.replace(current, aside)
    # the warning says the earlier log is deleted; here it is kept
    warnings.filterwarnings("ignore", message="Experiment logs directory .* exists and is not")
    return aside if aside.is_file() else None


class KeepEarlierRows(pl.Callback):
    """Writes a resumed run's earlier CSV rows back in front of its new ones.

    Rows of steps past the step the run resumes from are dropped: a killed run logged them
    after its last checkpoint, and the resumed run trains (and logs) those steps again.
    (The checkpoint of step N is written before step N's own row: that row is kept.)
    """

    def __init__(self, earlier: Path, logger: CSVLogger) -> None:
        self.earlier, self.logger = earlier, logger

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        with open(self.earlier, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= trainer.global_step]
        writer = self.logger.experiment
        writer.metrics[:0] = [{k: v for k, v in r.items() if v != ""} for r in rows]
        self.logger.save()
        self.earlier.unlink()


def save_to_wandb(lg: WandbLogger, path: Path, base: Path) -> None:
    """Keep ``path`` with the W&B run as ``<path relative to base>``: a copy inside the run's
    files folder, not W&B's absolute symlink, so the offline run folder can be moved before
    ``wandb sync`` (and W&B prints no "Symlinked" warning)."""
    run = lg.experiment
    dst = Path(run.dir) / Path(path).relative_to(base)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dst)
    run.save(str(dst), base_path=run.dir, policy="now")
