"""The run's progress line: its "time left" respects ``trainer.max_time``."""

from __future__ import annotations

import io
import re

import pytorch_lightning as pl
import torch

from musicgen.training.progress import RunProgress


class _Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _lines(**limits) -> list[tuple[float, float]]:
    out = io.StringIO()
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[RunProgress(every=200, stream=out)], **limits)  # fmt: skip
    trainer.fit(_Tiny(), torch.utils.data.DataLoader(torch.randn(64, 4), batch_size=8))
    found = re.findall(r", (\d+) s, about (\d+|nan) s left", out.getvalue())
    assert found, out.getvalue()
    return [(float(elapsed), float(left)) for elapsed, left in found]


def test_time_left_is_bounded_by_max_time():
    # 10 million steps could never finish in 2 seconds: the line must say the time limit
    lines = _lines(max_steps=10_000_000, max_time={"seconds": 2})
    assert all(left <= 2 for _, left in lines), lines


def test_time_left_counts_steps_without_max_time():
    lines = _lines(max_steps=1_000)
    assert lines[-1][1] == 0, lines  # the last line is at the last step
