"""Training: configs, the Lightning module, musicgen-train with W&B offline, resume, DDP."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from conftest import kill_after_checkpoints
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from midi_pair_files import write_pair
from omegaconf import OmegaConf
from wandb_log import run_log

import musicgen.cli.train  # noqa: F401  (registers the config resolvers)
from musicgen.data import MusicDataModule
from musicgen.data.sources import music21_corpus_dir
from musicgen.models import RecurrentLM, TransformerLM
from musicgen.tokenizers import NoteTokenizer
from musicgen.training.checkpoint import load_checkpoint
from musicgen.training.module import LanguageModel
from musicgen.training.provenance import code_commit
from musicgen.training.seq2seq_module import Seq2SeqModel

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "musicgen" / "conf"
TRAIN = Path(sys.executable).parent / "musicgen-train"
# A real Essen tune book shipped with music21 (a dependency): 10 kB, about 25 tunes.
BOOK = music21_corpus_dir() / "essenFolksong" / "altdeu10.abc"


def compose_train(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def tiny_corpus(experiment: str, tmp_path: Path, *overrides: str) -> list[str]:
    """Overrides that point an experiment's corpus at tiny data of the same kind, made here.

    Composing and instantiating must not need the shared corpora (a fresh clone has none):
    text experiments get a three-file WikiText-style folder, ABC-file experiments a real
    book; the folk corpus ships inside music21 and is used as it is.
    """
    data = compose_train(f"experiment={experiment}", *overrides).data
    if data.get("source") == "midi":  # melody/X.mid beside chords/X.mid
        for k in range(8):
            write_pair(tmp_path / "pairs", f"tune{k}", shift=k)
        return [f"data.files={tmp_path / 'pairs' / 'melody'}"]
    if data._target_.endswith("TextDataModule"):
        root = tmp_path / "text"
        root.mkdir()
        line = "the cat sat on a mat and the dog ran to the park with a red ball"
        words = line.split(" ")
        for name in ("train.txt", "valid.txt", "test.txt"):
            lines = [" ".join(words[i % 7 : i % 7 + 6]) for i in range(40)]
            (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [f"data.root={root}"]
    files = str(OmegaConf.to_container(data, resolve=False).get("files"))
    if data._target_.endswith("HarmonyDataModule"):  # melodies with chord symbols
        book = tmp_path / "chords.abc"
        tune = 'X:{n}\nT:t{n}\nM:4/4\nL:1/8\nK:G\n"G"GABc "D7"dcBA|"C"cdef "G"g4|]\n'
        book.write_text("\n".join(tune.format(n=n) for n in range(1, 9)))
        return [f"data.files={book}"]
    if "paths.shared_data" in files:
        return [f"data.files={ROOT / 'tests' / 'assets' / 'tiny_book.abc'}"]
    return []


@pytest.mark.parametrize(
    ("experiment", "corpus"),
    [*((p.stem, None) for p in sorted((CONF / "experiment").glob("*.yaml"))),
     ("nottingham_harmonize_lstm", "nottingham_midi_pairs"),
     ("nottingham_harmonize_transformer", "nottingham_midi_pairs")],
)  # fmt: skip
def test_every_experiment_composes_and_instantiates(experiment, corpus, tmp_path):
    extra = [f"data={corpus}"] if corpus else []  # the README's swap of the harmonisers' corpus
    own = compose_train(f"experiment={experiment}", *extra).data
    cache = [f"data.cache_dir={tmp_path}"] if "cache_dir" in own else []
    tiny = tiny_corpus(experiment, tmp_path, *extra)
    cfg = compose_train(f"experiment={experiment}", *extra, *cache, *tiny)
    assert cfg.name == experiment
    assert cfg.data.name == (corpus or own.name)
    data = instantiate(cfg.data, _convert_="all")
    model = instantiate(cfg.model, vocab_size=data.vocab_size)
    module = instantiate(cfg.module, model=model, tokenizer=data.tokenizer)
    trainer = instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
    assert trainer.max_steps == cfg.trainer.max_steps
    if data.tokenizer.kind == "harmony":  # an encoder-decoder: a melody in, chords out
        assert isinstance(module, Seq2SeqModel)
        data.setup("fit")
        src, tgt_in, _ = next(iter(data.train_dataloader()))
        assert model(src, tgt_in)[0].shape[:2] == tgt_in.shape
    else:
        assert isinstance(module, LanguageModel)
        assert model(torch.zeros(1, 4, dtype=torch.long))[0].shape == (1, 4, data.vocab_size)


def test_the_lab_recipe_is_the_lab_recipe(tmp_path):
    cfg = compose_train("experiment=irish_lstm_lab", f"data.cache_dir={tmp_path}")
    assert (cfg.model.embed_dim, cfg.model.hidden_dim, cfg.model.num_layers) == (256, 1024, 1)
    assert (cfg.data.seq_len, cfg.data.batch_size, cfg.trainer.max_steps) == (100, 8, 3000)
    assert cfg.module.optimizer._target_ == "torch.optim.Adam" and cfg.module.optimizer.lr == 5e-3
    assert cfg.data.tokenizer.type == "char"


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_a_tiny_model_overfits_a_small_real_batch(family, tmp_path):
    """One batch of 4 windows of 64 real tokens, memorised.

    The threshold: a model that knows only token frequencies in this very batch (its
    unigram entropy, computed below, about 3.3 nats) cannot get under it; 0.5 nats per
    token means the model reproduces the sequences, which is what overfitting shows."""
    dm = MusicDataModule(
        NoteTokenizer(), name="b", files=str(BOOK), seq_len=64, batch_size=4,
        cache_dir=str(tmp_path), prepare_workers=1,
    )  # fmt: skip
    dm.prepare_data(progress=False)
    dm.setup()
    batch = next(iter(torch.utils.data.DataLoader(dm.dataset("train"), batch_size=4)))
    pl.seed_everything(0)
    v = dm.vocab_size
    model = (
        RecurrentLM(v, embed_dim=64, hidden_dim=128, dropout=0.0)
        if family == "lstm"
        else TransformerLM(v, d_model=64, n_layers=2, n_heads=4, max_len=64, dropout=0.0)
    )
    module = LanguageModel(
        model,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-2),
        weight_decay=0.0,
        warmup_steps=0,
        min_lr_ratio=1.0,
    )
    # the same 4 windows, in the same order, 300 times
    loader = torch.utils.data.DataLoader(list(zip(*batch, strict=True)) * 300, batch_size=4)
    trainer = pl.Trainer(
        max_steps=300, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        accelerator="cpu", enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, train_dataloaders=loader)
    module.eval()
    with torch.no_grad():
        total, count = module._nll(batch)
    counts = torch.bincount(batch[1].flatten()).float()
    p = counts[counts > 0] / counts.sum()
    unigram_entropy = float(-(p * p.log()).sum())
    assert unigram_entropy > 2.5
    assert total / count < 0.5


def read_csv(run: Path) -> list[dict]:
    with open(run / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def last_val_loss(run: Path) -> float:
    return [float(r["val/loss"]) for r in read_csv(run) if r.get("val/loss")][-1]


def train_args(run: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "model=transformer_small", "model.d_model=64", "model.n_layers=1", "model.dropout=0.0",
        "model.max_len=64", "data=abc_files", f"data.files={BOOK}", "data.seq_len=64",
        "data.batch_size=8", f"data.cache_dir={cache}", "data.prepare_workers=1",
        "trainer.max_steps=60", "trainer.val_check_interval=20", "trainer.log_every_n_steps=5",
        "callbacks.checkpoint.every_n_train_steps=5", "seed=3", f"hydra.run.dir={run}", *extra,
    ]  # fmt: skip


def offline_env(tmp_path: Path) -> dict:
    """No W&B credentials at all: the run must go offline on its own, with no prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["HOME"] = str(tmp_path / "home")  # no ~/.netrc, no ~/.config/wandb
    return env


def test_train_with_wandb_offline_leaves_a_run_we_can_read_back(tmp_path):
    run = tmp_path / "run"
    res = subprocess.run(
        [str(TRAIN), *train_args(run, tmp_path / "cache", "logger=wandb")],
        env=offline_env(tmp_path), capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "best val/loss:" in res.stdout and (run / "checkpoints" / "last.ckpt").is_file()
    # the printed next steps run as printed, from any shell (no virtualenv activated)
    hint = res.stdout.split("upload it with: ")[1].splitlines()[0].split()
    (folder,) = (run / "wandb").glob("offline-run-*")
    assert hint == [str(TRAIN.parent / "wandb"), "sync", str(folder)]
    sample = res.stdout.split("sample from it: ")[1].splitlines()[0].split()
    assert sample[0] == str(TRAIN.parent / "musicgen-sample")
    assert sample[1].startswith(f"ckpt={run / 'checkpoints' / 'best-step'}")
    clean_path = {**offline_env(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([*sample, "max_bars=2", "n_samples=1", "audio=false"], cwd=tmp_path,
                         env=clean_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0 and (tmp_path / "samples" / "sample_00.mid").is_file(), out.stderr
    assert sample[2:] == ["n_samples=4", "out_dir=samples/"]
    log = run_log(folder)
    assert log["run_id"] == (run / "wandb_run_id.txt").read_text().strip()
    vals = [h for h in log["history"] if "val/loss" in h]
    assert [h["trainer/global_step"] for h in vals] == [20, 40, 60]  # steps done
    assert vals[-1]["val/loss"] < vals[0]["val/loss"]  # it learned
    for h in vals:
        assert h["val/ppl"] == pytest.approx(2.718281828 ** h["val/loss"], rel=1e-4)
        assert h["val/bits_per_token"] == pytest.approx(h["val/loss"] / 0.693147, rel=1e-4)
        assert h["val/nats_per_tune"] > h["val/loss"]
    assert log["config"]["model"]["d_model"] == 64 and log["config"]["corpus/documents"] > 10
    assert any("train/loss" in h for h in log["history"])
    # each validation continued held-out tunes: files on disk, audio and piano rolls in W&B
    assert len(sorted((run / "samples").glob("step*/tune0.wav"))) == 3
    assert len(sorted((run / "samples").glob("step*/tune0.mid"))) == 3
    media = [h for h in log["history"] if "samples/audio_0/_type" in h]  # W&B flattens media
    assert len(media) == 3
    assert {h["samples/audio_0/_type"] for h in media} == {"audio-file"}
    assert {h["samples/piano_roll_0/_type"] for h in media} == {"image-file"}
    # with a Table of the samples (audio, piano roll, MIDI, metrics) and the set's metrics
    tables = [h for h in log["history"] if "samples/table/_type" in h]
    assert len(tables) == 3 and {h["samples/table/nrows"] for h in tables} == {2}
    assert {h["samples/table/_type"] for h in tables} == {"table-file"}
    scored = [h for h in log["history"] if "samples/valid_rate" in h]
    assert len(scored) == 3  # a sample with no new note is invalid and has no in-key share
    for h in scored:
        assert 0 <= h["samples/valid_rate"] <= 1
        assert h["samples/valid_rate"] == 0 or 0 <= h["samples/in_key"] <= 1
    # the CSV log beside it holds the same validation figures
    csv_vals = [float(r["val/loss"]) for r in read_csv(run) if r.get("val/loss")]
    assert csv_vals == pytest.approx([h["val/loss"] for h in vals], rel=1e-6)


def test_a_run_killed_mid_way_resumes_to_the_same_result(tmp_path):
    cache, env = tmp_path / "cache", offline_env(tmp_path)
    whole = tmp_path / "whole"
    res = subprocess.run([str(TRAIN), *train_args(whole, cache, "logger=wandb")], env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]

    cut = tmp_path / "cut"
    proc = subprocess.Popen([str(TRAIN), *train_args(cut, cache, "logger=wandb")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    last = cut / "checkpoints" / "last.ckpt"
    kill_after_checkpoints(proc, last, 6)  # one new file every 5 steps
    step = torch.load(last, map_location="cpu", weights_only=False)["global_step"]
    assert 20 <= step < 60  # the previous checkpoint is readable and mid-run

    res = subprocess.run([str(TRAIN), *train_args(cut, cache, "logger=wandb", "ckpt_path=last")],
                         env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    final = torch.load(last, map_location="cpu", weights_only=False)["global_step"]
    assert final == 60
    assert last_val_loss(cut) == pytest.approx(last_val_loss(whole), rel=0.02)
    # both segments logged to one W&B run: W&B names each segment's folder by the run id
    segments = sorted((cut / "wandb").glob("offline-run-*"))
    run_id = (cut / "wandb_run_id.txt").read_text().strip()
    assert len(segments) == 2 and {f.name.rsplit("-", 1)[1] for f in segments} == {run_id}
    # (W&B buffers records in its service process: the killed segment's log may be empty)
    assert run_log(segments[-1])["run_id"] == run_id


DDP_SCRIPT = """
import sys, torch, pytorch_lightning as pl
from musicgen.data import MusicDataModule
from musicgen.training.module import LanguageModel
from musicgen.training.seq2seq_module import Seq2SeqModel
from musicgen.models import TransformerLM
from musicgen.tokenizers import NoteTokenizer
book, cache, out = sys.argv[1:4]
pl.seed_everything(0)
dm = MusicDataModule(NoteTokenizer(), name="ddp", files=book, seq_len=32, batch_size=4,
                     cache_dir=cache, prepare_workers=1)
model = TransformerLM(dm.vocab_size, d_model=32, n_layers=1, n_heads=2, max_len=32)
module = LanguageModel(model, warmup_steps=0)
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=6, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False,
                     use_distributed_sampler=False, limit_val_batches=0)
trainer.fit(module, datamodule=dm)
torch.save(module.state_dict(), f"{out}/rank{trainer.global_rank}.pt")
"""


def test_ddp_on_two_cpu_processes_keeps_the_ranks_identical(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    res = subprocess.run(
        [sys.executable, str(script), str(BOOK), str(tmp_path / "cache"), str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    assert r0.keys() == r1.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), k
    pl.seed_everything(0)  # the same initial weights as the script's, to show it trained
    init = TransformerLM(NoteTokenizer().vocab_size, d_model=32, n_layers=1, n_heads=2, max_len=32)
    trained = {k.removeprefix("model."): v for k, v in r0.items()}
    assert any(not torch.equal(p, trained[k]) for k, p in init.state_dict().items())
    assert len(list((tmp_path / "cache").glob("ddp-*"))) == 1  # one process prepared


def test_the_ddp_config_trains_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    args = train_args(
        run, tmp_path / "cache", "logger=csv", "trainer=ddp", "trainer.accelerator=cpu",
        "trainer.devices=2", "trainer.max_steps=10",
    )  # fmt: skip
    res = subprocess.run([str(TRAIN), *args], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 10 and ckpt["musicgen"]["tokenizer"]["type"] == "note"
    assert ckpt["musicgen"]["commit"] == code_commit()  # the code it was trained with
    assert (ckpt["musicgen"]["commit"] is not None) == (ROOT / ".git").exists()


def test_a_harmoniser_trains_under_ddp_from_the_command_line(tmp_path):
    """The harmonisers' bucketed batches under ``trainer=ddp`` (the ranks split one shuffled
    order: ``tests/test_harmonizer.py``); 12 distinct tunes, so none is a duplicate."""
    import random

    rng, tunes = random.Random(0), []
    for n in range(1, 13):
        bars = [" ".join(rng.choice("GABcdefg") for _ in range(3)) for _ in range(4)]
        tunes.append(
            f"X:{n}\nT:t{n}\nM:3/4\nL:1/4\nK:G\n"
            + "|".join(f'"{rng.choice(["G", "C", "D7", "Em"])}"{b}' for b in bars)
            + "|]\n"
        )
    (tmp_path / "book.abc").write_text("\n".join(tunes))
    run = tmp_path / "run"
    res = subprocess.run(
        [str(TRAIN), "experiment=nottingham_harmonize_lstm", f"data.files={tmp_path / 'book.abc'}",
         "data.batch_size=2", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
         "trainer.max_steps=4", "trainer.val_check_interval=4", "logger=csv",
         "trainer.enable_progress_bar=false", f"hydra.run.dir={run}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 4 and ckpt["musicgen"]["tokenizer"]["type"] == "harmony"
    assert ckpt["musicgen"]["commit"] == code_commit()


def test_a_sweep_gives_each_job_its_own_folder_and_wandb_run(tmp_path):
    sweep = tmp_path / "sweep"
    args = [
        a
        for a in train_args(
            tmp_path / "unused", tmp_path / "cache", "logger=wandb", "trainer.max_steps=10"
        )
        if not a.startswith(("hydra.run", "model"))
    ]
    res = subprocess.run(
        [str(TRAIN), "-m", "model=lstm_small,transformer_small", *args, f"hydra.sweep.dir={sweep}"],
        env=offline_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and (p / "checkpoints").is_dir())
    assert [j.name for j in jobs] == ["0-train-lstm_small", "1-train-transformer_small"]
    ids = {(j / "wandb_run_id.txt").read_text() for j in jobs}
    assert len(ids) == 2
    for j in jobs:
        (folder,) = (j / "wandb").glob("offline-run-*")
        assert run_log(folder)["run_id"] + "\n" in ids
        assert (j / "csv" / "metrics.csv").is_file()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_training_on_a_gpu(tmp_path):
    run = tmp_path / "run"
    args = train_args(run, tmp_path / "cache", "logger=csv", "trainer=gpu", "trainer.max_steps=20")
    res = subprocess.run([str(TRAIN), *args], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert last_val_loss(run) < 10


def test_a_wall_clock_budget_stops_the_run_and_keeps_its_last_step(tmp_path):
    run = tmp_path / "run"
    res = subprocess.run(
        [str(TRAIN), *train_args(run, tmp_path / "cache", "logger=csv"), "trainer.max_steps=100000",
         "trainer.max_time=00:00:00:10", "trainer.val_check_interval=100000",
         "callbacks.checkpoint.every_n_train_steps=100000", "callbacks.samples.n_tunes=0"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    ck = load_checkpoint(run / "checkpoints" / "last.ckpt")  # no periodic save happened
    assert 0 < ck.step < 100000
    assert f"last checkpoint: {run / 'checkpoints' / 'last.ckpt'} (step {ck.step})" in res.stdout
