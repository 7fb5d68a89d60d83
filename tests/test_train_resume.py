"""Resuming ``musicgen-train``: the log, the checkpoint folder and the losses stay whole.

Subprocess runs of the real entry point with a tiny Transformer that keeps its default
dropout (0.1), so exactness needs the random state restored, not only the data position.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import kill_after_checkpoints

from musicgen.data.sources import music21_corpus_dir

TRAIN = Path(sys.executable).parent / "musicgen-train"
BOOK = music21_corpus_dir() / "essenFolksong" / "altdeu10.abc"
STEPS = 60  # of the whole run; the segmented runs stop at 20 and 40 first


def args(cache: Path, max_steps: int, *extra: str) -> list[str]:
    return [
        "model=transformer_small", "model.d_model=64", "model.n_layers=1", "model.max_len=64",
        "data=abc_files", f"data.files={BOOK}", "data.seq_len=64", "data.batch_size=8",
        f"data.cache_dir={cache}", "data.prepare_workers=1", f"trainer.max_steps={max_steps}",
        "trainer.val_check_interval=20", "trainer.log_every_n_steps=1",
        "trainer.enable_progress_bar=false", "callbacks.checkpoint.every_n_train_steps=5",
        "callbacks.samples.n_tunes=1", "logger=csv", "seed=3", *extra,
    ]  # fmt: skip


def train(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    res = subprocess.run([str(TRAIN), *argv], cwd=cwd, capture_output=True, text=True,
                         timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def rows(run: Path, metric: str) -> list[tuple[int, float]]:
    with open(run / "csv" / "metrics.csv") as f:
        return [(int(r["step"]), float(r[metric])) for r in csv.DictReader(f) if r.get(metric)]


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """One uninterrupted run of STEPS steps."""
    tmp = tmp_path_factory.mktemp("whole")
    train(tmp, *args(tmp / "cache", STEPS, f"hydra.run.dir={tmp / 'run'}"))
    return tmp / "run"


def test_two_resumes_keep_every_row_one_last_checkpoint_and_the_losses(whole, tmp_path):
    cache = whole.parent / "cache"
    train(tmp_path, *args(cache, 20))  # into outputs/train/<date>/<time>-train
    for steps in (40, 60):
        time.sleep(1)  # Hydra names run folders by the second: each resume gets a new one
        train(tmp_path, *args(cache, steps, "ckpt_path=last"))
    runs = [p for p in (tmp_path / "outputs" / "train").glob("*/*") if p.is_dir()]
    assert len(runs) == 1, f"resumes left extra run folders: {runs}"
    (run,) = runs
    losses = rows(run, "train/loss")
    assert [s for s, _ in losses] == list(range(1, STEPS + 1))  # every step once, in order
    assert [s for s, _ in rows(run, "val/loss")] == [20, 40, 60]  # steps done
    assert losses == rows(whole, "train/loss")  # exact: same data, same dropout masks
    assert rows(run, "val/loss") == rows(whole, "val/loss")
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names.count("last.ckpt") == 1 and not [n for n in names if n.startswith("last-")]
    assert len([n for n in names if n.startswith("best-")]) == 1  # save_top_k=1
    # each resume's config is kept beside the first one's
    assert len(list((run / ".hydra").glob("resume-*/overrides.yaml"))) == 2


def test_a_killed_run_resumes_to_the_losses_of_an_uninterrupted_one(whole, tmp_path):
    cut = tmp_path / "cut"
    argv = args(whole.parent / "cache", STEPS, f"hydra.run.dir={cut}")
    proc = subprocess.Popen([str(TRAIN), *argv], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
    last = cut / "checkpoints" / "last.ckpt"
    kill_after_checkpoints(proc, last, 5)  # one new file every 5 steps
    ckpt = torch.load(last, map_location="cpu", weights_only=True)  # plain tensors and lists
    assert 20 <= ckpt["global_step"] < STEPS
    assert ckpt["musicgen"]["config"]["model"]["dropout"] > 0

    train(tmp_path, *argv, "ckpt_path=last")
    losses = rows(cut, "train/loss")
    assert [s for s, _ in losses] == list(range(1, STEPS + 1))  # the killed run's extra rows went
    assert losses == rows(whole, "train/loss")
    assert rows(cut, "val/loss")[-1] == rows(whole, "val/loss")[-1]


def failed_train(cwd: Path, *argv: str) -> str:
    res = subprocess.run([str(TRAIN), *argv], cwd=cwd, capture_output=True, text=True,
                         timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr and "Error executing job" not in res.stderr
    (line,) = [x for x in res.stderr.splitlines() if "error" in x.lower()]
    return line


def test_a_window_of_no_tokens_is_one_clear_line(tmp_path):
    line = failed_train(tmp_path, *args(tmp_path / "cache", 5, "data.seq_len=0"))
    assert line == (
        "musicgen-train: error: data 'abc_files': data.seq_len must be an integer of at least 1,"
        " not 0"
    )


def test_a_corpus_of_only_corrupt_files_is_one_clear_line_not_a_run(tmp_path):
    (tmp_path / "midi").mkdir()
    (tmp_path / "midi" / "garbage.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    (tmp_path / "midi" / "empty.mid").write_bytes(b"")
    argv = args(tmp_path / "cache", 5, "data=midi_files", f"data.files={tmp_path}/midi/*.mid",
                f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    line = failed_train(tmp_path, *argv)
    assert line.startswith(
        "musicgen-train: error: corpus 'midi_files': no training window:"
        " all 2 files gave no readable tune (2 skipped; the first: "
    )
    assert "empty.mid" in line
    assert not (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
