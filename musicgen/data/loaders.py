"""The DataLoaders every data module serves: shuffled, resumable, rank-sharded windows."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from musicgen.data.windows import ResumableSampler


class WindowLoaders:
    """Mixin for a ``LightningDataModule`` with ``dataset(split)``, ``batch_size``,
    ``num_workers`` and ``seed``: its train, val and test DataLoaders."""

    def _loader(self, split: str, sampler=None) -> DataLoader:
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # every new iterator draws a seed from this generator, not torch's global one,
            # so a validation pass does not shift the dropout masks of the steps after it
            # (a resumed run skips the validation that preceded its checkpoint)
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled windows, sharded by rank; resumes at the batch a checkpoint stopped at."""
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        sampler = ResumableSampler(len(self.dataset("train")), self.seed, rank, world)
        if trainer is not None:
            # after a restore the fit loop knows the epoch and the batches done in it
            sampler.set_epoch(trainer.current_epoch)
            done = trainer.fit_loop.epoch_loop.batch_progress.current.ready
            sampler.skip = done * self.batch_size
        return self._loader("train", sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
