"""The DataLoaders every data module serves: shuffled, resumable, rank-sharded windows."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from musicgen.data.streams import StreamBatches, StreamSampler
from musicgen.data.windows import ResumableSampler


class NoTrainingDataError(ValueError):
    """A corpus whose training split holds no window to train on."""


def check_window_settings(name: str, seq_len: int, batch_size: int, num_workers: int) -> None:
    """Raises ``ValueError`` naming the corpus and the setting when one cannot work."""
    for setting, value, least in (
        ("seq_len", seq_len, 1), ("batch_size", batch_size, 1), ("num_workers", num_workers, 0),
    ):  # fmt: skip
        if not isinstance(value, int) or value < least:
            raise ValueError(
                f"data {name!r}: data.{setting} must be an integer of at least {least},"
                f" not {value!r}"
            )


def check_stream_settings(name: str, stateful: bool, variable_bptt: bool) -> None:
    """Raises ``ValueError`` for variable BPTT lengths without stateful streams."""
    if variable_bptt and not stateful:
        raise ValueError(
            f"data {name!r}: data.variable_bptt=true needs data.stateful=true (it varies the"
            " length of stateful batches; shuffled windows have a fixed seq_len)"
        )


# The loaders of a data module: any ``LightningDataModule`` with ``dataset(split)``,
# ``batch_size``, ``num_workers``, ``seed``, ``seq_len``, ``stateful``, ``variable_bptt``,
# ``name`` and ``cache``. Its ``train_dataloader`` is ``train_loader(self)``, its
# ``val_dataloader``/``test_dataloader`` ``eval_loader(self, split)``: plain functions,
# shared by both data modules. With ``stateful`` they serve ``batch_size`` contiguous
# streams in order (``musicgen.data.streams``; ``seq_len`` is the BPTT length) instead of
# shuffled windows.


def train_loader(dm) -> DataLoader:
    """Shuffled windows, sharded by rank; resumes at the batch a checkpoint stopped at."""
    if len(dm.dataset("train")) == 0:
        raise NoTrainingDataError(f"corpus {dm.name!r}: no training window: {_why_no_windows(dm)}")
    if dm.stateful:
        return _stream_loader(dm, "train")
    trainer = dm.trainer
    rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
    sampler = ResumableSampler(len(dm.dataset("train")), dm.seed, rank, world)
    if trainer is not None:
        # after a restore the fit loop knows the epoch and the batches done in it
        sampler.set_epoch(trainer.current_epoch)
        done = trainer.fit_loop.epoch_loop.batch_progress.current.ready
        sampler.skip = done * dm.batch_size
    return _data_loader(dm, dm.dataset("train"), sampler, dm.batch_size)


def eval_loader(dm, split: str) -> DataLoader:
    """A held-out split's windows (or streams) in order."""
    if dm.stateful:
        return _stream_loader(dm, split)
    return _data_loader(dm, dm.dataset(split), None, dm.batch_size)


def _data_loader(dm, dataset, sampler, batch_size: int | None) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=dm.num_workers,
        persistent_workers=dm.num_workers > 0,
        # every new iterator draws a seed from this generator, not torch's global one,
        # so a validation pass does not shift the dropout masks of the steps after it
        # (a resumed run skips the validation that preceded its checkpoint)
        generator=torch.Generator().manual_seed(dm.seed),
    )


def _stream_loader(dm, split: str) -> DataLoader:
    """Stateful batches: every rank's streams in order; training resumes mid-epoch."""
    trainer = dm.trainer
    rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
    train = split == "train"
    streams = StreamBatches(dm.dataset(split), dm.batch_size, rank, world)
    sampler = StreamSampler(
        streams.length, dm.seq_len, dm.seed,
        variable=train and dm.variable_bptt, tail=not train and streams.tail > 0,
    )  # fmt: skip
    if train and trainer is not None:
        sampler.set_epoch(trainer.current_epoch)
        sampler.skip = trainer.fit_loop.epoch_loop.batch_progress.current.ready
    return _data_loader(dm, streams, sampler, None)  # each item is a whole batch


def _why_no_windows(dm) -> str:
    manifest = dm.cache.manifest if dm.cache is not None else {}
    counts, skipped = manifest.get("counts") or {}, manifest.get("skipped") or []
    if counts.get("documents") == 0:
        if skipped:
            first = skipped[0]
            where = "" if first["path"] in first["reason"] else f"{first['path']}: "
            return (
                f"all {counts.get('files', '?')} files gave no readable tune ({len(skipped)}"
                f" skipped; the first: {where}{first['reason']})"
            )
        return f"its {counts.get('files', '?')} files hold no tune"
    tokens = dm.dataset("train").n_tokens
    return f"the train split holds {tokens} tokens (a window needs at least 2)"
