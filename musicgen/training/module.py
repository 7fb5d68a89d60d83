"""One LightningModule for every backbone, music or text: loss, metrics, optimizer, schedule.

The backbone is any ``nn.Module`` with ``forward(ids, state=None) -> (logits, state)``.
The tokenizer and the resolved run config travel inside every checkpoint, so a checkpoint
alone is enough to sample or evaluate (see ``musicgen.training.checkpoint``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import SumMetric

from musicgen.data.windows import IGNORE_INDEX
from musicgen.training import random_state
from musicgen.training.recurrent_state import carried, detached

CHECKPOINT_KEY = "musicgen"
SCHEDULES = ("cosine", "plateau")


class LanguageModel(pl.LightningModule):
    """Next-token prediction around a backbone.

    Args:
        model: the backbone.
        tokenizer: saved into checkpoints (anything with ``to_dict()``); optional in tests.
        optimizer: a factory taking parameter groups, e.g. ``partial(torch.optim.AdamW, lr=3e-4)``
            (the default: AdamW, lr 3e-4, betas 0.9/0.95).
        weight_decay: applied to weight matrices only; norms, biases and embeddings get none.
        warmup_steps: linear warm-up of the learning rate from 0.
        min_lr_ratio: the cosine decay ends at this fraction of the peak learning rate.
        label_smoothing: of the training loss (Szegedy et al. 2016); validation reports the
            plain negative log-likelihood so perplexities stay comparable.
        schedule: ``"cosine"`` (warm-up, then cosine decay over the run) or ``"plateau"``
            (a constant rate multiplied by ``plateau_factor`` at each epoch's end whose
            ``val/loss`` is no better than the best so far, as PyTorch's
            word_language_model divides it by 4).
        plateau_factor: the multiplier of the plateau schedule.
        stateful: carry a recurrent backbone's state from batch to batch, detached, for
            data served as contiguous streams; it starts from zeros at each epoch and each
            validation, and travels in checkpoints so a resumed run continues its streams.
            None (the default): whatever the data module's ``stateful`` says.
        bptt: the nominal batch length of variable-length BPTT (``data.variable_bptt``):
            each step's learning rate is scaled by its batch's length / ``bptt``, so
            every token weighs the same (AWD-LSTM, Merity et al. 2017). None: no scaling.
        run_config: the resolved config of the run, stored in checkpoints.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer=None,
        optimizer: Callable | None = None,
        weight_decay: float = 0.1,
        warmup_steps: int = 100,
        min_lr_ratio: float = 0.1,
        label_smoothing: float = 0.0,
        run_config: dict | None = None,
        schedule: str = "cosine",
        plateau_factor: float = 0.25,
        stateful: bool | None = None,
        bptt: int | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.optimizer_factory = optimizer or partial(torch.optim.AdamW, lr=3e-4, betas=(0.9, 0.95))
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.min_lr_ratio = min_lr_ratio
        self.label_smoothing = label_smoothing
        self.run_config = run_config or {}
        self.code_commit: str | None = None  # set by musicgen-train (git, when run from a checkout)
        if schedule not in SCHEDULES:
            raise ValueError(f"module.schedule={schedule!r}: choose one of {', '.join(SCHEDULES)}")
        self.schedule, self.plateau_factor = schedule, plateau_factor
        self.stateful, self.bptt = stateful, bptt
        self._state = {"train": None, "val": None}  # carried, detached (stateful only)
        self._resumed_state = None  # a checkpoint's training state, for the resumed epoch
        self._batch_len = 0
        # summed over the epoch and over ranks, so DDP reports the true corpus figures
        self.val_nll = SumMetric()
        self.val_tokens = SumMetric()
        self._resumed_rng: dict | None = None  # set by a restore, applied at the next step

    def setup(self, stage: str) -> None:
        if self.stateful is None:  # follow the data: data.stateful=true is the one switch
            dm = getattr(self.trainer, "datamodule", None)
            self.stateful = bool(getattr(dm, "stateful", False))
        if self.stateful and getattr(self.model, "max_len", None) is not None:
            raise ValueError(
                f"stateful batches need a recurrent backbone; {type(self.model).__name__}"
                " has a context window (train it on shuffled windows: data.stateful=false)"
            )

    def forward(self, ids: torch.Tensor, state=None):
        return self.model(ids, state)

    def _nll(self, batch, smoothing: float = 0.0, carry: str | None = None):
        """Summed NLL and target count of a batch; ``carry`` ("train" or "val") continues
        and keeps that pass's state when the run is stateful."""
        x, y = batch  # (B, T), (B, T)
        state = carried(self._state[carry], x) if carry and self.stateful else None
        logits, state = self.model(x, state)  # (B, T, V)
        if carry and self.stateful:
            self._state[carry] = detached(state)
        return token_nll(logits, y, smoothing)

    def on_train_epoch_start(self) -> None:
        self._state["train"] = None  # the streams start again at each epoch

    def on_validation_epoch_start(self) -> None:
        self._state["val"] = None

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        # Restored here, not at load time: whatever a restore does before the first step
        # (building loaders, a sanity check) must not shift the dropout masks.
        if self._resumed_rng is not None:
            random_state.restore(self._resumed_rng)
            self._resumed_rng = None
        if self._resumed_state is not None:
            # Lightning skips on_train_epoch_start when it resumes mid-epoch: the streams
            # continue from the saved state, unless this batch starts a new epoch
            self._state["train"] = self._resumed_state if batch_idx > 0 else None
            self._resumed_state = None
        self._batch_len = batch[0].shape[1]

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None) -> None:
        if not self.bptt:
            return super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        rates = [group["lr"] for group in optimizer.param_groups]
        for group in optimizer.param_groups:  # AWD-LSTM: lr * seq_len / bptt for this step
            group["lr"] *= self._batch_len / self.bptt
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        for group, lr in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = lr

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        total, count = self._nll(batch, self.label_smoothing, carry="train")
        loss = total / count.clamp(min=1)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        total, count = self._nll(batch, carry="val")
        self.val_nll.update(total)
        self.val_tokens.update(count)

    def on_validation_epoch_end(self) -> None:
        nll, tokens = self.val_nll.compute(), self.val_tokens.compute()
        self.val_nll.reset()
        self.val_tokens.reset()
        if tokens == 0:
            return
        loss = nll / tokens
        self.log("val/loss", loss, prog_bar=True, sync_dist=False)
        self.log("val/ppl", torch.exp(loss))
        self.log("val/bits_per_token", loss / math.log(2))
        tokens_per_word = _tokens_per_word(self.trainer, "val")
        if tokens_per_word:  # text: perplexity per word, whatever the tokenizer's unit
            self.log("val/word_ppl", torch.exp(loss * tokens_per_word))
        else:
            tunes = _documents_in(self.trainer, "val")
            if tunes:
                self.log("val/nats_per_tune", nll / tunes)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(param_groups(self.model, self.weight_decay))
        if self.schedule == "plateau":
            # threshold 0, patience 0: any epoch that does not lower val/loss divides the rate
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=self.plateau_factor, patience=0, threshold=0.0
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {
                    "scheduler": plateau, "monitor": "val/loss", "interval": "epoch",
                    "strict": False,  # a run shorter than an epoch never reaches it
                },
            }  # fmt: skip
        return with_warmup_cosine(optimizer, self.trainer, self.warmup_steps, self.min_lr_ratio)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "tokenizer": self.tokenizer.to_dict() if self.tokenizer is not None else None,
            "config": self.run_config,
            # saved after a step, so a resume continues the same random draws (exact resume)
            "rng": random_state.capture(),
            # the streams' state after the last step (stateful runs), so a resume continues them
            "state": self._state["train"],
            "commit": self.code_commit,  # the code it was trained with (provenance)
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY) or {}
        self._resumed_rng = saved.get("rng")
        self._resumed_state = saved.get("state")


def token_nll(
    logits: torch.Tensor, y: torch.Tensor, smoothing: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy of logits (B, T, V) against targets y (B, T), and the number of
    scored targets (``IGNORE_INDEX`` skipped); ``smoothing`` is label smoothing."""
    loss = F.cross_entropy(
        logits.flatten(0, 1).float(), y.flatten(), ignore_index=IGNORE_INDEX,
        label_smoothing=smoothing, reduction="sum",
    )  # fmt: skip
    return loss, (y != IGNORE_INDEX).sum()


def with_warmup_cosine(optimizer, trainer, warmup: int, floor: float) -> dict:
    """Lightning's optimizer config: ``optimizer`` with :func:`warmup_cosine` per step over
    the run's ``trainer.estimated_stepping_batches``."""
    total = max(int(trainer.estimated_stepping_batches), 1)
    schedule = partial(warmup_cosine, warmup=warmup, total=total, floor=floor)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def warmup_cosine(step: int, warmup: int, total: int, floor: float) -> float:
    """Learning-rate multiplier: linear warm-up to 1, then cosine decay to ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: weight matrices decay; norms, biases and embeddings do not.

    A tied output matrix is the embedding, so it does not decay either (as in GPT-2).
    """
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, nn.Embedding | nn.LayerNorm):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
    decay, keep = [], []
    seen: set[int] = set()
    for p in model.parameters():
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        (keep if p.ndim < 2 or id(p) in no_decay else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": keep, "weight_decay": 0.0},
    ]


def _tokens_per_word(trainer, split: str) -> float | None:
    """Tokens per word of a text split (words counted with one ``<eos>`` per line, as in
    the WikiText literature); None for music corpora.

    The mean loss per token times this ratio is the nats per word, so word-level
    perplexity compares across word, BPE and character tokenizers (and stays right when
    ``limit_val_batches`` scores only part of the split).
    """
    dm = getattr(trainer, "datamodule", None)  # None when fit() was given bare loaders
    if getattr(getattr(dm, "tokenizer", None), "kind", None) != "text":
        return None
    words = dm.word_count(split)
    return dm.dataset(split).n_tokens / words if words else None


def _documents_in(trainer, split: str) -> int:
    dm = getattr(trainer, "datamodule", None)
    splits = getattr(dm, "splits", None) or {}
    return len(splits.get(split, ()))
