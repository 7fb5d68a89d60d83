"""Lightning callbacks: checkpoints, the corpus summary, samples of held-out tunes, and
a self-attention map per validation."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import WandbLogger

from musicgen.generation.attention_maps import plot_self_attention, self_attention
from musicgen.generation.continuation import continue_tune
from musicgen.generation.prompt import prompt_end
from musicgen.metrics import (
    bar_correctness,
    in_key_ratio,
    note_density,
    pitch_range,
    repeated_bar_share,
    score_set,
)
from musicgen.models.transformer import TransformerLM
from musicgen.music import write_midi
from musicgen.music.edit import tail
from musicgen.music.render import piano_roll, render_wav
from musicgen.training.loggers import save_to_wandb


def checkpoint_callbacks(ckpt_dir: Path, every_n_train_steps: int, save_top_k: int) -> list:
    """``last.ckpt`` every ``every_n_train_steps`` steps and at the end, and the best by
    ``val/loss`` (``[last, best]``).

    Lightning writes each checkpoint to a temporary file and renames it, so a run killed
    at any moment leaves the previous checkpoint readable. A resumed run overwrites the
    same files (no ``last-v1.ckpt`` beside ``last.ckpt``).
    """
    best = ModelCheckpoint(
        dirpath=ckpt_dir, monitor="val/loss", mode="min", save_top_k=save_top_k,
        filename="best-step{step}-loss{val/loss:.4f}", auto_insert_metric_name=False,
        enable_version_counter=False,
    )  # fmt: skip
    return [LastCheckpoint(ckpt_dir / "last.ckpt", every_n_train_steps), best]


class LastCheckpoint(pl.Callback):
    """Writes ``last.ckpt`` every ``every_n_train_steps`` steps and when training stops
    (``max_steps``, ``max_time``, an early stop), so no step is lost. Not on an interrupt:
    a run stopped by Ctrl-C keeps its last periodic checkpoint.

    Every save happens at the end of a training batch, the one place Lightning resumes
    from mid-epoch exactly: a checkpoint written after training ended reads as a finished
    epoch, and a run resumed from it would start the next epoch's data and count its steps
    one off. (Lightning's own ``save_last`` writes one then, hence this callback.) After the
    validation that follows the last step, the best checkpoints' bookkeeping is copied
    into the file, so a resumed run knows them. A ``trainer.fast_dev_run`` writes none, as
    Lightning's own checkpoints do not: its step-1 file must never become ``ckpt=last``.
    """

    def __init__(self, path: Path, every_n_train_steps: int) -> None:
        self.path, self.every = path, every_n_train_steps
        self._saved_at = -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if trainer.fast_dev_run:
            return
        if step % self.every == 0 or 0 < trainer.max_steps <= step:
            trainer.save_checkpoint(self.path, weights_only=False)  # the full state: resumable
            self._saved_at = step

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step == 0 or trainer.interrupted or trainer.fast_dev_run:
            return
        if self._saved_at != trainer.global_step:  # stopped by time: not at a batch end
            trainer.save_checkpoint(self.path, weights_only=False)  # the full state: resumable
        elif trainer.is_global_zero:
            _refresh_checkpoint_states(self.path, trainer.checkpoint_callbacks)


def _refresh_checkpoint_states(path: Path, callbacks: list) -> None:
    """Rewrites the checkpoint callbacks' states in ``path`` (atomically)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # our own file
    for cb in callbacks:
        ckpt.setdefault("callbacks", {})[cb.state_key] = cb.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, path)


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
                save_to_wandb(lg, cache.path / "manifest.json", cache.path)


def unigram_entropy(counts: list[int]) -> float:
    """Entropy (nats per token) of the corpus's token frequencies: the loss of a model that
    ignores context, the baseline a language model must beat."""
    total = sum(counts)
    return -sum(c / total * math.log(c / total) for c in counts if c) if total else 0.0


class SampleLogger(pl.Callback):
    """At each validation, continues a few held-out tunes, scores them and logs them.

    The first ``n_tunes`` validation tunes are cut to ``prompt_bars`` bars and continued for
    ``max_bars`` bars with the sampler; each result is written to
    ``<run>/samples/step<N>/`` as MIDI, a piano roll PNG and a WAV. The new bars are scored
    with the musical metrics (``musicgen.metrics``) against the tunes' own real bars; the
    set's figures are logged as ``samples/<metric>`` and, to W&B, one Table row per sample
    (title, audio, piano roll, the MIDI file's name, its metrics) plus the audio and image
    panels. Note-token runs only (a character model's samples are text; ``musicgen-eval``
    scores those).

    Args:
        n_tunes: validation tunes continued each time (0: off).
        prompt_bars: bars of each tune given as the prompt.
        max_bars: new bars per continuation.
        **sampling: the sampler's settings (``temperature``, ``top_k``, ``top_p``,
            ``repetition_penalty``), shared with ``musicgen-sample`` through
            ``conf/sampling/default.yaml``.
    """

    def __init__(
        self, n_tunes: int = 2, prompt_bars: int = 4, max_bars: int = 8, **sampling
    ) -> None:
        self.n_tunes, self.prompt_bars, self.max_bars = n_tunes, prompt_bars, max_bars
        self.sampling = sampling

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        dm = trainer.datamodule
        tokenizer = getattr(dm, "tokenizer", None)
        if trainer.sanity_checking or trainer.global_rank != 0 or self.n_tunes <= 0:
            return
        if tokenizer is None or tokenizer.kind != "notes":
            return
        out = Path(trainer.default_root_dir) / "samples" / f"step{trainer.global_step:07d}"
        out.mkdir(parents=True, exist_ok=True)
        rows, news, reals = [], [], []
        for i, tune in enumerate(dm.tunes("val", self.n_tunes)):
            prompt, score, new = continue_tune(
                pl_module.model, tokenizer, tune, self.prompt_bars, max_bars=self.max_bars,
                seed=trainer.global_step + i, **self.sampling,
            )  # fmt: skip
            stem = out / f"tune{i}"
            write_midi(score, stem.with_suffix(".mid"))
            piano_roll(score, stem.with_suffix(".png"), prompt_end(prompt), title=tune.title)
            render_wav(score, stem.with_suffix(".wav"))
            news.append(new)
            reals.append(tail(tune, prompt_end(prompt)))
            rows.append((stem, tune.title, sample_metrics(new)))
        figures = {f"samples/{k}": v for k, v in set_metrics(news, reals).items()}
        pl_module.log_dict(figures)
        for lg in trainer.loggers:
            if isinstance(lg, WandbLogger):
                _log_to_wandb(lg, rows, trainer.global_step)


def sample_metrics(score) -> dict[str, float | None]:
    """Per-sample figures for the Table: bar correctness, in-key share, range, density."""
    correct, judged = bar_correctness(score)
    pitched = any(not n.is_drum for n in score.notes)
    return {
        "notes": len(score.notes),
        "bar_correct": correct / judged if judged else None,
        "in_key": in_key_ratio(score) if pitched else None,
        "pitch_range": pitch_range(score) if pitched else None,
        "note_density": note_density(score) if pitched else None,
        "repeated_bars": repeated_bar_share(score),
    }


def set_metrics(samples: list, reals: list) -> dict[str, float]:
    """The set's figures against the real continuations (the numeric ones only)."""
    figures = score_set(samples, reals)
    keep = ("valid_rate", "bar_correct", "in_key", "pitch_class_overlap", "duration_overlap",
            "interval_overlap", "note_density", "pitch_range", "repeated_bars")  # fmt: skip
    return {k: float(figures[k]) for k in keep if figures.get(k) is not None}


def _log_to_wandb(lg: WandbLogger, rows: list, step: int) -> None:
    import wandb

    columns = ["step", "tune", "audio", "piano_roll", "midi", *rows[0][2]] if rows else []
    table = wandb.Table(columns=columns)
    row: dict = {"trainer/global_step": step}
    for i, (stem, title, metrics) in enumerate(rows):
        audio = wandb.Audio(str(stem.with_suffix(".wav")), caption=title)
        image = wandb.Image(str(stem.with_suffix(".png")), caption=title)
        row[f"samples/audio_{i}"] = audio
        row[f"samples/piano_roll_{i}"] = image
        save_to_wandb(lg, stem.with_suffix(".mid"), stem.parents[2])
        midi = str(stem.with_suffix(".mid").relative_to(stem.parents[2]))
        table.add_data(step, title, audio, image, midi, *metrics.values())
    if rows:
        row["samples/table"] = table
    lg.experiment.log(row)


class AttentionMapLogger(pl.Callback):
    """At each validation, one self-attention map of a held-out window, to W&B as an image.

    The first row of the first validation batch (its first ``max_tokens`` tokens) runs
    through the model asking for its weights; ``layer``'s heads, side by side, are written
    to ``<run>/attention/step<N>.png`` and logged as ``attention/map``. Decoder-only
    Transformers only (other models have no self-attention to show: the callback is idle).

    Args:
        layer: which layer to draw (negative: from the last).
        max_tokens: the window's length (a map of T×T cells stays readable up to a few hundred).
    """

    def __init__(self, layer: int = -1, max_tokens: int = 128) -> None:
        self.layer, self.max_tokens = layer, max_tokens

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        model = getattr(pl_module, "model", None)
        if trainer.sanity_checking or trainer.global_rank != 0:
            return
        if not isinstance(model, TransformerLM) or trainer.datamodule is None:
            return
        x = next(iter(trainer.datamodule.val_dataloader()))[0]  # (B, T) inputs
        layers = self_attention(model, x[0, : self.max_tokens].tolist())
        index = self.layer % len(layers)
        out = Path(trainer.default_root_dir) / "attention"
        out.mkdir(parents=True, exist_ok=True)
        title = f"step {trainer.global_step}, layer {index}: a validation window"
        path = plot_self_attention(layers[index], out / f"step{trainer.global_step:07d}.png", title)
        for lg in trainer.loggers:
            if isinstance(lg, WandbLogger):
                import wandb

                image = wandb.Image(str(path), caption=title)
                lg.experiment.log(
                    {"attention/map": image, "trainer/global_step": trainer.global_step}
                )
