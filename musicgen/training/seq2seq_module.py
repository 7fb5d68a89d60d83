"""``Seq2SeqModel``: the Lightning module of encoder–decoder models (melody → chords).

A sibling of ``LanguageModel`` rather than a subclass: batches are ``(src, tgt_in, tgt_out)``
and the backbone is called ``model(src, tgt_in)``; the loss, the optimizer's parameter
groups, the schedule and the checkpoint entry are the same functions ``LanguageModel`` uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics import SumMetric

from musicgen.data.windows import IGNORE_INDEX
from musicgen.generation.seq2seq_decode import greedy_batch
from musicgen.tokenizers.harmony import HarmonyTokenizer
from musicgen.training import random_state
from musicgen.training.module import CHECKPOINT_KEY, param_groups, token_nll, with_warmup_cosine


class Seq2SeqModel(pl.LightningModule):
    """Teacher-forced training of ``model(src, tgt_in) -> (logits, state)``.

    Args:
        model: the encoder–decoder.
        tokenizer: saved into checkpoints (anything with ``to_dict()``).
        optimizer: a factory taking parameter groups (default AdamW, lr 1e-3).
        weight_decay: on weight matrices only.
        warmup_steps: linear warm-up of the learning rate.
        min_lr_ratio: the cosine decay's floor, a fraction of the peak.
        label_smoothing: of the training loss only (Szegedy et al. 2016; Vaswani et al. 2017
            use 0.1); validation reports the plain NLL per target token.
        input_dropout: share of the decoder's input tokens (after ``<bos>``) replaced by
            ``<pad>`` in training, the word dropout of Bowman et al. 2016: a chord held
            over most beats is otherwise learnt as "copy the previous chord", which
            teacher forcing rewards and free-running decoding turns into one chord held
            for the whole tune. Validation feeds the real tokens.
        run_config: the resolved run config, stored in checkpoints.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer=None,
        optimizer: Callable | None = None,
        weight_decay: float = 0.01,
        warmup_steps: int = 50,
        min_lr_ratio: float = 0.1,
        label_smoothing: float = 0.0,
        input_dropout: float = 0.0,
        run_config: dict | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.optimizer_factory = optimizer or partial(torch.optim.AdamW, lr=1e-3)
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.min_lr_ratio = min_lr_ratio
        self.label_smoothing = label_smoothing
        self.input_dropout = input_dropout
        # <pad>, <bos>, <eos>: the tokenizer's (HarmonyTokenizer's by default)
        tok = tokenizer if tokenizer is not None else HarmonyTokenizer()
        self.specials = (tok.pad_id, tok.bos_id, tok.eos_id)
        self.run_config = run_config or {}
        self.code_commit: str | None = None  # set by musicgen-train (git, when run from a checkout)
        self.val_nll, self.val_tokens, self.val_correct = SumMetric(), SumMetric(), SumMetric()
        self.val_free_correct = SumMetric()
        self._resumed_rng: dict | None = None

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, state=None):
        return self.model(src, tgt, state)

    def _step(self, batch, smoothing: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src, tgt_in, tgt_out = batch  # (B, S, 4), (B, T), (B, T)
        if self.training and self.input_dropout > 0:
            tgt_in = tgt_in.clone()
            dropped = torch.rand(tgt_in.shape, device=tgt_in.device) < self.input_dropout
            dropped[:, 0] = False  # <bos> stays: it starts the sequence
            tgt_in[dropped] = self.specials[0]
        logits, _ = self.model(src, tgt_in)  # (B, T, V)
        total, count = token_nll(logits, tgt_out, smoothing)
        correct = ((logits.argmax(-1) == tgt_out) & (tgt_out != IGNORE_INDEX)).sum()
        return total, count, correct

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if self._resumed_rng is not None:  # as in LanguageModel: exact resume of dropout
            random_state.restore(self._resumed_rng)
            self._resumed_rng = None

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        total, count, _ = self._step(batch, self.label_smoothing)
        loss = total / count.clamp(min=1)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        total, count, correct = self._step(batch, 0.0)  # plain NLL, whatever the smoothing
        self.val_nll.update(total)
        self.val_tokens.update(count)
        self.val_correct.update(correct)
        src, tgt_in, tgt_out = batch
        free = greedy_batch(
            self.model, src, tgt_in.size(1), self.specials[1], self.specials
        )  # (B, T)
        self.val_free_correct.update(((free == tgt_out) & (tgt_out != IGNORE_INDEX)).sum())

    def on_validation_epoch_end(self) -> None:
        metrics = (self.val_nll, self.val_tokens, self.val_correct, self.val_free_correct)
        nll, tokens, correct, free = (m.compute() for m in metrics)
        for m in metrics:
            m.reset()
        if tokens == 0:
            return
        loss = nll / tokens
        self.log("val/loss", loss, prog_bar=True)
        self.log("val/ppl", torch.exp(loss))
        self.log("val/bits_per_token", loss / math.log(2))
        # teacher-forced: each beat's chord given the real chords before it
        self.log("val/accuracy_teacher_forced", correct / tokens)
        # free-running: each beat's chord given the model's own chords before it (greedy)
        self.log("val/accuracy_greedy", free / tokens)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(param_groups(self.model, self.weight_decay))
        return with_warmup_cosine(optimizer, self.trainer, self.warmup_steps, self.min_lr_ratio)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "tokenizer": self.tokenizer.to_dict() if self.tokenizer is not None else None,
            "config": self.run_config,
            "rng": random_state.capture(),
            "commit": self.code_commit,  # the code it was trained with (provenance)
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._resumed_rng = (checkpoint.get(CHECKPOINT_KEY) or {}).get("rng")
