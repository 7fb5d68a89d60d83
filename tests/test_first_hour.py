"""The first hour of a new user, command by command as they are typed: every printed or
documented command runs, every user error is one line, every output says where it came from."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ASSETS, BIN, ROOT, run
from hydra import compose, initialize_config_dir
from wandb_log import run_log

import musicgen.cli.train  # noqa: F401  (registers the config resolvers)

CONF = ROOT / "musicgen" / "conf"
APPS = {"musicgen-train": "train", "musicgen-sample": "sample", "musicgen-eval": "eval",
        "musicgen-prepare": "prepare", "musicgen-studio": "studio"}  # fmt: skip
TINY = [f"data.files={ASSETS / 'tiny_book.abc'}", "data=abc_files", "data.prepare_workers=1",
        "data.seq_len=32", "data.batch_size=4", "logger=csv", "callbacks.samples.n_tunes=0",
        "model.d_model=32", "model.n_layers=1"]  # fmt: skip


def commands_in(lines: str) -> list[list[str]]:
    """Every ``musicgen-*`` command among ``lines``, as argument lists (placeholders such as
    ``<run>`` or ``<text ckpt>`` stand for the user's own folder or file)."""
    lines = re.sub(r"<([^<>\n]+)>", lambda m: m.group(1).replace(" ", "_"), lines)
    commands = []
    for line in lines.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and Path(words[0]).name in APPS:
            commands.append([Path(words[0]).name, *words[1:]])
    return commands


def readme_commands() -> list[list[str]]:
    """Every ``musicgen-*`` command in the README's bash blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [c for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)
            for c in commands_in(block)]  # fmt: skip


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


# What each --help must describe, beyond a description and examples; and its config groups
HELP = {
    "musicgen-train": (["ckpt_path", "trainer.max_steps", "steps done"],
                       ["experiment", "data", "model", "trainer", "logger", "optimizer", "debug"]),
    "musicgen-prepare": (["data.files", "data.prepare_workers", "manifest.json"], ["data"]),
    "musicgen-sample": (["prompt_bars", "max_bars", "seed", "samples.json"], []),
    "musicgen-eval": (["split", "n_samples", "out"], []),
    "musicgen-studio": (["port", "heldout_tunes"], []),
}  # fmt: skip
HEAVY = ("torch", "pytorch_lightning", "lightning_fabric", "gradio", "musicgen.data")


def listed_groups(help_text: str) -> dict[str, list[str]]:
    """``{group: options}`` of the help's "Config groups" or "Corpora" block."""
    block = re.search(r"^(?:Config groups|Corpora) \(.*?\):\n(.*?)\n\n", help_text, re.S | re.M)
    groups: dict[str, list[str]] = {}
    for line in block.group(1).splitlines() if block else []:
        if not line.startswith("    "):  # "  group  a, b," (a continuation is indented more)
            group, line = line.split(maxsplit=1)
        groups[group] = groups.get(group, []) + [o for o in line.replace(",", " ").split()]
    return groups


@pytest.mark.parametrize("app", sorted(HELP))
def test_every_help_describes_its_command_without_importing_torch(app):
    res = subprocess.run([sys.executable, "-X", "importtime", str(BIN / app), "--help"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines()}
    assert not [m for m in imported if m.split(".")[0] in HEAVY or m in HEAVY]  # instant
    text = res.stdout
    assert text.startswith(f"{app}: ") and "powered by Hydra" not in text
    words, groups = HELP[app]
    assert all(w in text for w in words), [w for w in words if w not in text]
    examples = commands_in(text.split("Examples:\n")[1].split("\n\n")[0])
    assert len(examples) >= 3 and {c[0] for c in examples} == {app}
    for command in examples:  # each example composes (a sweep: with its first values)
        sweep = "-m" in command
        overrides = [re.sub(r"=([^,]*),.*", r"=\1", w) if sweep else w
                     for w in command[1:] if not w.startswith("-")]  # fmt: skip
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            compose(APPS[app], overrides=overrides, return_hydra_config=True)
    listed = listed_groups(text)
    assert list(listed) == groups  # only the groups this command reads
    for group, options in listed.items():
        assert options == sorted(p.stem for p in (CONF / group).glob("*.yaml")
                                 if p.stem not in ("music", "text")), group  # fmt: skip
    if "data" in listed:  # the base configs the corpora extend are no corpora
        assert "folk" in listed["data"] and "music" not in listed["data"]


def test_debug_runs_and_sweeps_never_become_last(tmp_path, note_ckpt):
    """``ckpt=last`` is the newest single training run: a later debug run, a Lightning
    ``fast_dev_run`` (and sweep jobs) under outputs/ do not take its place."""
    for debug in ("debug=fast", "+trainer.fast_dev_run=true"):
        res = run("musicgen-train", debug, "model=transformer_small", *TINY,
                  f"data.cache_dir={tmp_path / 'cache'}", cwd=note_ckpt.parents[5])  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
    assert "no checkpoint or CSV log was kept" in res.stdout  # and no command that fails
    assert "sample from it" not in res.stdout
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


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory) -> tuple[Path, str]:
    """A real offline W&B run of 40 steps, validating every 20, stopped at 20 and resumed:
    its folder and everything both segments printed (W&B's credentials hidden)."""
    tmp = tmp_path_factory.mktemp("wandb_run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["HOME"] = str(tmp / "home")  # no ~/.netrc: offline on its own
    run_dir, printed = tmp / "run", ""
    for steps, resume in ((20, []), (40, ["ckpt_path=last"])):
        res = subprocess.run(
            [str(BIN / "musicgen-train"), "model=transformer_small", *TINY[:-2], "logger=wandb",
             "model.d_model=32", "model.n_layers=1", "model.max_len=32",
             "callbacks.samples.n_tunes=1", "callbacks.samples.max_bars=1",
             f"trainer.max_steps={steps}", "trainer.val_check_interval=20",
             "trainer.log_every_n_steps=10", "callbacks.checkpoint.every_n_train_steps=20",
             "callbacks.checkpoint.save_top_k=2", f"data.cache_dir={tmp / 'cache'}",
             f"hydra.run.dir={run_dir}", *resume],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=600,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]
        printed += res.stdout + res.stderr
    return run_dir, printed


def test_every_step_number_a_user_sees_counts_steps_done(wandb_run):
    """Validation after 20 steps is step 20 in the CSV, in W&B, in the checkpoint's name,
    in the samples' and attention maps' folders, in the progress line and the summary."""
    run_dir, printed = wandb_run
    with open(run_dir / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    val = {int(r["step"]): float(r["val/loss"]) for r in rows if r.get("val/loss")}
    assert list(val) == [20, 40]
    assert [int(r["step"]) for r in rows if r.get("train/loss")] == [10, 20, 30, 40]
    best = sorted(p.name for p in (run_dir / "checkpoints").glob("best-*.ckpt"))
    assert best == [f"best-step{s}-loss{v:.4f}.ckpt" for s, v in val.items()]
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step0000020", "step0000040"]
    assert sorted(p.name for p in (run_dir / "attention").iterdir()) == [
        "step0000020.png", "step0000040.png"]  # fmt: skip
    for step, loss in val.items():
        assert f"step {step}/" in printed and f"val/loss {loss:.4f}" in printed
    assert "last.ckpt (step 40)" in printed
    history = [h for seg in sorted((run_dir / "wandb").glob("offline-run-*"))
               for h in run_log(seg)["history"]]  # fmt: skip
    assert [h["trainer/global_step"] for h in history if "val/loss" in h] == [20, 40]
    media = [h["trainer/global_step"] for h in history if "samples/audio_0/_type" in h]
    assert media == [20, 40]  # the samples' panels beside the validation they belong to


def test_an_offline_wandb_run_prints_no_noise(wandb_run):
    run_dir, printed = wandb_run
    noise = ["anonymous", "Symlinked", "LeafSpec", "weights_only", "litlogger", "Tip:",
             "was configured so", "\r"]  # fmt: skip
    assert [n for n in noise if n in printed] == []
    assert "W&B ran offline" in printed and "upload it with:" in printed
    # the run's files in W&B are copies, not absolute symlinks: the run folder can move
    # before `wandb sync` (W&B's own debug logs are its links, not the run's data)
    files = [p for p in (run_dir / "wandb").glob("offline-run-*/files/**/*") if p.is_file()]
    assert {"manifest.json", "tune0.mid"} <= {p.name for p in files}
    assert [p for p in files if p.is_symlink()] == []


def test_a_melody_with_chords_as_prompt_says_what_the_model_reads(note_ckpt, tmp_path):
    """Issue 12 item 7: a two-track prompt (a melody and its chords, both piano, as the
    Nottingham MIDI files are) gets a ``prompt:`` line and a warning, not silence."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    melody, chords = mido.MidiTrack(), mido.MidiTrack()
    melody.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    for bar in range(4):
        for pitch in (72, 74, 76, 77):  # four quarters a bar
            melody += [mido.Message("note_on", note=pitch, velocity=80),
                       mido.Message("note_off", note=pitch, velocity=0, time=480)]  # fmt: skip
        triad = (48, 52, 55) if bar % 2 == 0 else (43, 47, 50)  # C, G: a whole bar each
        chords += [mido.Message("note_on", note=p, velocity=60) for p in triad]
        chords += [mido.Message("note_off", note=p, velocity=0, time=1920 if i == 0 else 0)
                   for i, p in enumerate(triad)]  # fmt: skip
    midi.tracks += [melody, chords]
    midi.save(tmp_path / "with_chords.mid")

    res = run("musicgen-sample", f"ckpt={note_ckpt}", f"prompt={tmp_path / 'with_chords.mid'}",
              "prompt_bars=2", "n_samples=1", "max_bars=1", "audio=false",
              f"out_dir={tmp_path / 'out'}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    line = next(x for x in res.stdout.splitlines() if x.startswith("prompt: "))
    assert "2 bar(s), 14 notes, 4/4" in line, line  # 8 melody notes and two triads kept
    assert "1 program(s), up to 4 note(s) at once" in line, line
    warning = next(x for x in res.stdout.splitlines() if "one stream of note tokens" in x)
    assert warning.startswith("warning: ") and "2 onsets of several notes" in warning
