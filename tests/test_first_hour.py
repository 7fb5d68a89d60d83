"""The first hour of a new user, command by command as they are typed: every printed or
documented command runs, every user error is one line, every output says where it came from."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ASSETS, BIN, ROOT, run
from hydra import compose, initialize_config_dir

import musicgen.cli.train  # noqa: F401  (registers the config resolvers)

CONF = ROOT / "musicgen" / "conf"
APPS = {"musicgen-train": "train", "musicgen-sample": "sample", "musicgen-eval": "eval",
        "musicgen-prepare": "prepare"}  # fmt: skip
TINY = [f"data.files={ASSETS / 'tiny_book.abc'}", "data=abc_files", "data.prepare_workers=1",
        "data.seq_len=32", "data.batch_size=4", "logger=csv", "callbacks.samples.n_tunes=0",
        "model.d_model=32", "model.n_layers=1"]  # fmt: skip


def readme_commands() -> list[list[str]]:
    """Every ``musicgen-*`` command in the README's bash blocks, as argument lists
    (placeholders such as ``<run>`` stand for the user's own folder)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"<([^<>\n]+)>", lambda m: m.group(1).replace(" ", "_"), text)
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and Path(words[0]).name in APPS:
                commands.append([Path(words[0]).name, *words[1:]])
    return commands


def test_the_readme_documents_commands_of_every_app():
    assert {c[0] for c in readme_commands()} == set(APPS)


@pytest.mark.parametrize("command", readme_commands(), ids=lambda c: " ".join(c)[:60])
def test_every_readme_command_composes_with_the_shipped_configs(command):
    """The guard that the documented commands stay runnable: each one's overrides compose
    with the configs, as Hydra does before running it (a renamed or removed option fails)."""
    overrides = [w for w in command[1:] if not w.startswith("-")]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        compose(APPS[command[0]], overrides=overrides, return_hydra_config=True)


def test_the_readme_sweep_runs_with_its_default_folders(tmp_path):
    res = run("musicgen-train", "-m", "model=lstm_small,transformer_small", "trainer.max_steps=2",
              *TINY[:-2], f"data.cache_dir={tmp_path / 'cache'}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    jobs = sorted(p.name for p in (tmp_path / "outputs" / "multirun").glob("*/*/*") if p.is_dir())
    assert jobs == ["0-train-lstm_small", "1-train-transformer_small"]


@pytest.mark.parametrize("app", ["musicgen-sample", "musicgen-eval"])
def test_a_missing_checkpoint_is_one_line(app, tmp_path):
    res = run(app, cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0, res.stderr
    assert "ckpt is required" in res.stderr and "Traceback" not in res.stderr


def test_sample_help_describes_its_options_without_importing_torch():
    res = subprocess.run([str(BIN / "musicgen-sample"), "--help"], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert res.returncode == 0 and "Examples:" in res.stdout and "prompt_bars" in res.stdout
    assert "data:" not in res.stdout  # no training groups listed for sampling
    code = "import sys, musicgen.cli.sample; print('torch' in sys.modules)"
    light = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert light.stdout.strip() == "False", light.stderr  # --help never pays for torch


def test_debug_runs_and_sweeps_never_become_last(tmp_path, note_ckpt):
    """``ckpt=last`` is the newest single training run: a later debug run (and sweep jobs)
    under outputs/ do not take its place."""
    res = run("musicgen-train", "debug=fast", "model=transformer_small", *TINY,
              f"data.cache_dir={tmp_path / 'cache'}", cwd=note_ckpt.parents[5])  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    out = tmp_path / "s"
    res = run("musicgen-sample", "ckpt=last", "n_samples=1", "max_bars=1", "audio=false",
              f"out_dir={out}", cwd=note_ckpt.parents[5])  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"checkpoint: {note_ckpt.relative_to(note_ckpt.parents[5])}" in res.stdout


def test_a_failed_run_leaves_no_run_folder(tmp_path):
    res = run("musicgen-train", "model.n_layers=abc", *TINY[:-1], cwd=tmp_path)
    assert res.returncode != 0
    assert not list((tmp_path / "outputs").glob("train/*/*")), "an empty run folder stayed"


def test_samples_record_what_made_them_and_replace_an_earlier_run(note_ckpt, tmp_path):
    out = tmp_path / "samples"
    args = ("n_samples=2", "max_bars=2", "audio=false", f"out_dir={out}")
    first = run("musicgen-sample", f"ckpt={note_ckpt}", "audio=true", *args[:2],
                f"out_dir={out}", cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0 and (out / "sample_00.wav").is_file(), first.stderr
    seed = int(re.search(r"seed: (\d+)", first.stdout).group(1))  # a fresh seed, printed
    again = run("musicgen-sample", f"ckpt={note_ckpt}", f"seed={seed}", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "removed" in again.stdout and not (out / "sample_00.wav").exists()  # no stale WAV
    record = json.loads((out / "samples.json").read_text())
    assert record["checkpoint"] == str(note_ckpt) and record["seed"] == seed
    assert len(record["sha256"]) == 64 and record["settings"]["max_bars"] == 2
    assert [Path(s["file"]).name for s in record["samples"]] == ["sample_00.mid", "sample_01.mid"]
    for s in record["samples"]:
        assert s["new_bars"] <= 2 and s["stopped"] and s["new_tokens"] > 0
    log = (out / "sample.log").read_text()
    assert f"seed: {seed}" in log and "sample_01" in log  # the log holds what was shown
    # the same seed gives the same samples as the first run
    assert first.stdout.split("sample_00:")[1].split("->")[0] in again.stdout


def test_a_text_prompt_on_a_music_model_is_one_line_and_writes_nothing(note_ckpt, tmp_path):
    out = tmp_path / "never"
    res = run("musicgen-sample", f"ckpt={note_ckpt}", "prompt=This morning I took my cat",
              f"out_dir={out}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 2 and "music model" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not out.exists()
