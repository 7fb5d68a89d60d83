"""Progress of the whole run, not of an epoch: a bar on a terminal, plain lines elsewhere.

Lightning's own bar counts the batches of an epoch, so its ETA is not the run's, and
redirected to a file it leaves thousands of carriage returns. This callback counts the
run's optimizer steps against ``max_steps`` (or the epochs' total): on a terminal a tqdm
bar, otherwise one line every ``every`` steps and at each validation. Under
``trainer.max_time`` the time left is the sooner of the two ends.
"""

from __future__ import annotations

import sys
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer


class RunProgress(pl.Callback):
    """Args:
    every: steps between two lines when the output is not a terminal.
    stream: where to write (standard error by default, like Lightning's bar).
    """

    def __init__(self, every: int = 50, stream=None) -> None:
        self.every, self.stream = every, stream or sys.stderr
        self.bar, self.start, self.total, self.timer = None, 0.0, 0, None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_rank != 0:
            return
        self.total = max(int(trainer.estimated_stepping_batches), trainer.global_step)
        self.start, self.first = time.monotonic(), trainer.global_step
        self.timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=trainer.global_step, unit="step",
                            desc="training", file=self.stream, dynamic_ncols=True)  # fmt: skip

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_rank != 0:
            return
        step = trainer.global_step
        loss = trainer.callback_metrics.get("train/loss")
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if loss is not None:
                self.bar.set_postfix(loss=f"{float(loss):.3f}", refresh=False)
        elif step % self.every == 0 or step == self.total:
            self._line(step, loss)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        val = trainer.callback_metrics.get("val/loss")
        if trainer.global_rank != 0 or trainer.sanity_checking or val is None:
            return
        message = f"step {trainer.global_step}/{self.total}: val/loss {float(val):.4f}"
        if self.bar is not None:
            self.bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _line(self, step: int, loss) -> None:
        done = step - self.first
        elapsed = time.monotonic() - self.start
        eta = elapsed / done * (self.total - step) if done else float("nan")
        limit = self.timer.time_remaining() if self.timer is not None else None
        if limit is not None and not eta <= limit:  # the time limit ends the run first
            eta = max(limit, 0.0)
        shown = f", train/loss {float(loss):.4f}" if loss is not None else ""
        print(f"step {step}/{self.total}{shown}, {elapsed:.0f} s, about {eta:.0f} s left",
              file=self.stream, flush=True)  # fmt: skip
