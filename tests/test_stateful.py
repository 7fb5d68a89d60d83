"""Stateful truncated BPTT: contiguous streams, a carried and detached state, exact resume,
validation equal to the evaluator's, the plateau schedule and length-scaled rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from musicgen.data.text import TextDataModule
from musicgen.evaluation.likelihood import stream_nll
from musicgen.models import RecurrentLM
from musicgen.training.module import LanguageModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STREAMS, BPTT = 3, 6


def make_data(tmp_path: Path, **options) -> TextDataModule:
    """A word corpus of ~2,700 tokens written here: lines with a repeating structure."""
    text = tmp_path / "corpus.txt"
    if not text.exists():
        rng = np.random.default_rng(0)
        words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "park", "red", "ball"]
        lines = [" ".join(rng.choice(words, size=int(rng.integers(4, 12)))) for _ in range(400)]
        text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = dict(seq_len=BPTT, batch_size=STREAMS, stateful=True) | options
    dm = TextDataModule(
        {"type": "word"}, name="tiny", files=str(text), cache_dir=str(tmp_path / "cache"),
        val_fraction=0.1, test_fraction=0.1, **settings,
    )  # fmt: skip
    dm.prepare_data()
    dm.setup()
    return dm


def make_module(dm: TextDataModule, **options) -> LanguageModel:
    torch.manual_seed(0)
    model = RecurrentLM(dm.vocab_size, embed_dim=16, hidden_dim=16, num_layers=2, dropout=0.1)
    settings = dict(optimizer=lambda p: torch.optim.SGD(p, lr=1.0), warmup_steps=0) | options
    return LanguageModel(model, stateful=True, **settings)


def trainer(tmp_path: Path, max_steps: int, callbacks=(), **options) -> pl.Trainer:
    settings = dict(limit_val_batches=0, max_epochs=-1) | options
    return pl.Trainer(
        accelerator="cpu", max_steps=max_steps, logger=False, enable_progress_bar=False,
        enable_model_summary=False, enable_checkpointing=any(
            isinstance(c, ModelCheckpoint) for c in callbacks
        ), callbacks=list(callbacks), default_root_dir=str(tmp_path), gradient_clip_val=0.25,
        num_sanity_val_steps=0, **settings,
    )  # fmt: skip


def split_tokens(dm: TextDataModule, split: str) -> np.ndarray:
    return np.asarray(dm.cache.document(dm.splits[split][0]), dtype=np.int64)


@pytest.mark.parametrize("variable", [False, True])
def test_row_k_of_each_batch_continues_where_row_k_of_the_last_one_ended(tmp_path, variable):
    dm = make_data(tmp_path, variable_bptt=variable, seq_len=12)
    batches = list(dm.train_dataloader())
    tokens = split_tokens(dm, "train")
    length = len(tokens) // STREAMS
    for x, y in batches:
        assert x.shape[0] == STREAMS and torch.equal(x[:, 1:], y[:, :-1])
    xs = torch.cat([x for x, _ in batches], dim=1)  # (B, all inputs of a stream)
    for k in range(STREAMS):  # stream k is the k-th contiguous part of the split, in order
        assert xs[k].tolist() == tokens[k * length : (k + 1) * length - 1].tolist()
    lengths = {x.shape[1] for x, _ in batches[:-1]}
    assert (len(lengths) > 1) == variable, lengths  # AWD-LSTM draws a length per batch


class Record(pl.Callback):
    """Every training batch's first column, loss and learning rate, and the carried state."""

    def __init__(self) -> None:
        self.firsts, self.losses, self.states, self.rates = [], [], [], []
        self.fresh = []  # whether each batch started from zeros

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.fresh.append(module._state["train"] is None)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.firsts.append(batch[0][:, 0].tolist())
        self.losses.append(float(outputs["loss"]))
        self.states.append(module._state["train"])

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        self.rates.append(optimizer.param_groups[0]["lr"])


def test_the_state_carries_over_detached_and_starts_again_each_epoch(tmp_path):
    dm = make_data(tmp_path, seq_len=40)
    per_epoch = len(dm.train_dataloader())
    rec = Record()
    # a state still attached would make the second backward fail ("backward through the
    # graph a second time") or reach into the first batch's graph
    trainer(tmp_path, per_epoch + 2, [rec]).fit(make_module(dm), datamodule=dm)
    # zeros at the first batch of each epoch only (the module resets at epoch start)
    assert rec.fresh == [True] + [False] * (per_epoch - 1) + [True, False]
    for h, c in rec.states:
        assert h.grad_fn is None and not h.requires_grad and c.grad_fn is None
        assert h.shape == (2, STREAMS, 16) and h.abs().sum() > 0
    # the model carried the state: its loss on batch 2 differs from a fresh start's
    module = make_module(dm)
    module.eval()
    x, y = list(dm.train_dataloader())[1]
    fresh = module.model(x)[0]
    x0, _ = list(dm.train_dataloader())[0]
    carried = module.model(x, module.model(x0)[1])[0]
    assert not torch.allclose(fresh, carried, atol=1e-4)


def test_a_run_resumed_mid_epoch_continues_the_same_streams_and_losses(tmp_path):
    dm = make_data(tmp_path, seq_len=40)
    per_epoch = len(dm.train_dataloader())
    stop, total = per_epoch // 2, per_epoch + 3  # resume mid-epoch, then cross an epoch
    whole = Record()
    ckpt = ModelCheckpoint(tmp_path / "ck", every_n_train_steps=stop, save_top_k=-1)
    trainer(tmp_path, total, [whole, ckpt]).fit(make_module(dm), datamodule=dm)
    first = tmp_path / "ck" / f"epoch=0-step={stop}.ckpt"
    assert first.is_file(), sorted(p.name for p in (tmp_path / "ck").iterdir())
    resumed = Record()
    trainer(tmp_path / "again", total, [resumed]).fit(
        make_module(make_data(tmp_path, seq_len=40)), datamodule=make_data(tmp_path, seq_len=40),
        ckpt_path=str(first), weights_only=True,
    )  # fmt: skip
    assert resumed.firsts == whole.firsts[stop:]  # the same streams at the same places
    assert resumed.losses == pytest.approx(whole.losses[stop:], rel=1e-6)


def test_stateful_validation_loss_equals_the_evaluators_on_the_split(tmp_path):
    dm = make_data(tmp_path)
    module = make_module(dm)
    trainer(tmp_path, 4, limit_val_batches=1.0, val_check_interval=4).fit(module, datamodule=dm)
    val = trainer(tmp_path, 1, limit_val_batches=1.0).validate(module, datamodule=dm)
    tokens = split_tokens(dm, "val")
    assert len(tokens) % STREAMS  # a tail the equal streams leave over, scored too
    module.model.eval()
    exact = stream_nll(module.model, tokens, segments=STREAMS, chunk=17)
    assert exact.tokens == len(tokens) - STREAMS  # every token but each stream's first
    assert val[0]["val/loss"] == pytest.approx(exact.nats_per_token, rel=1e-5)


def test_the_plateau_schedule_divides_the_rate_after_an_epoch_that_did_not_improve(tmp_path):
    dm = make_data(tmp_path, seq_len=40)
    per_epoch = len(dm.train_dataloader())

    class Epochs(pl.Callback):
        rates, losses = [], []

        def on_train_epoch_start(self, trainer, module) -> None:
            self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])

        def on_validation_end(self, trainer, module) -> None:
            self.losses.append(float(trainer.callback_metrics["val/loss"]))

    rec = Epochs()
    # lr 30 on a tiny model: some epochs get worse, so the schedule has something to do
    module = make_module(dm, schedule="plateau", optimizer=lambda p: torch.optim.SGD(p, lr=30.0))
    trainer(
        tmp_path, 6 * per_epoch, [rec], limit_val_batches=1.0, check_val_every_n_epoch=1
    ).fit(module, datamodule=dm)  # fmt: skip
    best = rec.losses[0]
    for epoch in range(1, 5):
        worse = rec.losses[epoch] >= best
        expected = rec.rates[epoch] / 4 if worse else rec.rates[epoch]
        assert rec.rates[epoch + 1] == pytest.approx(expected), (rec.rates, rec.losses)
        best = min(best, rec.losses[epoch])
    assert min(rec.rates) < 30.0, (rec.rates, rec.losses)


def test_variable_lengths_scale_each_steps_rate_by_its_length(tmp_path):
    dm = make_data(tmp_path, variable_bptt=True, seq_len=12)
    rec = Record()
    lengths = [x.shape[1] for x, _ in list(dm.train_dataloader())[:20]]
    constant = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.5), min_lr_ratio=1.0)
    module = make_module(dm, bptt=12, **constant)
    trainer(tmp_path, 20, [rec]).fit(module, datamodule=dm)
    assert rec.rates == pytest.approx([0.5 * n / 12 for n in lengths])
    assert module.trainer.optimizers[0].param_groups[0]["lr"] == 0.5  # restored after each


def test_variable_lengths_need_stateful_streams(tmp_path):
    with pytest.raises(ValueError, match="data.variable_bptt=true needs data.stateful=true"):
        make_data(tmp_path, stateful=False, variable_bptt=True)


def test_the_wlm_recipe_is_wlms_and_trains_through_the_stateful_path(tmp_path):
    from test_train import compose_train, tiny_corpus

    cfg = compose_train("experiment=wikitext2_lstm_wlm", f"data.cache_dir={tmp_path}")
    assert cfg.module.optimizer._target_ == "torch.optim.SGD" and cfg.module.optimizer.lr == 20
    assert "betas" not in cfg.module.optimizer  # SGD takes none
    assert (cfg.data.seq_len, cfg.data.batch_size, cfg.data.stateful) == (35, 20, True)
    assert (cfg.model.embed_dim, cfg.model.hidden_dim, cfg.model.num_layers) == (650, 650, 2)
    assert cfg.model.dropout == 0.5 and cfg.model.tie_weights
    assert (cfg.trainer.gradient_clip_val, cfg.trainer.max_epochs) == (0.25, 40)
    assert (cfg.module.schedule, cfg.module.plateau_factor) == ("plateau", 0.25)
    # the default recipe keeps AdamW with its betas
    assert compose_train().module.optimizer.betas == [0.9, 0.95]
    cfg = compose_train(
        "experiment=wikitext2_lstm_wlm", *tiny_corpus("wikitext2_lstm_wlm", tmp_path),
        f"data.cache_dir={tmp_path}",
    )  # fmt: skip
    from hydra.utils import instantiate

    data = instantiate(cfg.data, _convert_="all")
    module = instantiate(cfg.module, model=instantiate(cfg.model, vocab_size=data.vocab_size))
    trainer(tmp_path, 1).fit(module, datamodule=data)
    # data.stateful=true is the one switch: the module follows the data and carries state
    assert module.stateful and module._state["train"] is not None
    assert isinstance(module.trainer.optimizers[0], torch.optim.SGD)


def test_a_one_token_tail_is_scored_too():
    torch.manual_seed(0)
    model = RecurrentLM(11, embed_dim=8, hidden_dim=8).eval()
    ids = np.arange(3 * 7 + 1) % 11  # three streams of 7 and one token left over
    assert stream_nll(model, ids, segments=3, chunk=4).tokens == len(ids) - 3
