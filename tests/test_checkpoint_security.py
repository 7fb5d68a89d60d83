"""A checkpoint is untrusted input: whatever it holds, loading or using one runs no code.

Each hostile file below would create a file under ``pwned/`` if its payload ran (the
first test shows that they do, when built the naive way); every command that reads a
checkpoint must refuse it with one line naming the file, and leave ``pwned/`` empty.
"""

from __future__ import annotations

import copy
import os
import pickle
from pathlib import Path

import pytest
import torch
from conftest import BOOK, ROOT, run
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

import musicgen.cli.train  # noqa: F401  (registers the config resolvers)
from musicgen.training.checkpoint import (
    CheckpointError,
    UnsafeCheckpointError,
    check_config,
    load_checkpoint,
    read_checkpoint,
    safe_instantiate,
)

CONF_DIR = ROOT / "musicgen" / "conf"


class Payload:
    """Unpickling this runs a shell command: the classic malicious pickle."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def hostile_configs(pwned: Path, blob: Path) -> dict[str, tuple[str, dict]]:
    """Plain-data configs, each naming a callable that writes under ``pwned``: (section, cfg)."""

    def opens(name: str) -> dict:  # open(pwned/name, "w") creates the file
        return {"_target_": "builtins.open", "file": str(pwned / name), "mode": "w"}

    def copies(name: str) -> dict:
        return {"_target_": "shutil.copyfile", "src": str(blob), "dst": str(pwned / name)}

    text_data = "musicgen.data.text.TextDataModule"
    oc_create = "${oc.create:'{_target_: builtins.open, file: " + str(pwned / "oc") + ", mode: w}'}"
    return {
        "open-for-writing": ("model", opens("open")),
        "copyfile": ("model", copies("copy")),
        "numpy-save": ("model", {"_target_": "numpy.save", "file": str(pwned / "np"), "arr": [1]}),
        "torch-load-blob": ("model", {"_target_": "torch.load", "f": str(blob), "weights_only": 0}),
        # Hydra's own deny-list stops this one; ours must too
        "os-system": ("model", {"_target_": "os.system", "_args_": [f"touch {pwned / 'system'}"]}),
        "nested-in-args": ("model", {"_target_": "musicgen.models.RecurrentLM",
                                     "_args_": [opens("args")]}),
        "data-tokenizer": ("data", {"_target_": text_data, "tokenizer": opens("tok")}),
        "data-itself": ("data", copies("data")),
        "partial": ("model", {**opens("partial"), "_partial_": True}),
        "interpolation": ("data", {"_target_": text_data, "name": oc_create}),
    }  # fmt: skip


@pytest.fixture
def pwned(tmp_path: Path) -> Path:
    folder = tmp_path / "pwned"
    folder.mkdir()
    return folder


@pytest.fixture
def blob(tmp_path: Path, pwned: Path) -> Path:
    """A pickle whose payload touches ``pwned/blob`` (what torch.load of it would run)."""
    path = tmp_path / "blob.pt"
    with path.open("wb") as f:
        pickle.dump({"x": Payload(f"touch {pwned / 'blob'}")}, f, protocol=2)
    return path


def with_config(ckpt: Path, out: Path, section: str, cfg: dict) -> Path:
    """``ckpt`` (a real one) with its stored ``section`` config replaced; plain data only."""
    contents = copy.deepcopy(torch.load(ckpt, weights_only=True))
    contents["musicgen"]["config"][section] = cfg
    torch.save(contents, out)
    return out


def with_pickle_payload(ckpt: Path, out: Path, pwned: Path) -> Path:
    """``ckpt`` plus one extra entry whose unpickling runs a command."""
    contents = torch.load(ckpt, weights_only=True)
    contents["extra"] = Payload(f"touch {pwned / 'reduce'}")
    torch.save(contents, out)
    return out


def legacy_pickle(out: Path, pwned: Path, protocol: int) -> Path:
    with out.open("wb") as f:
        pickle.dump({"state_dict": {}, "x": Payload(f"touch {pwned / 'legacy'}")}, f, protocol)
    return out


def test_the_payloads_are_real(pwned, blob):
    """Built the naive way, each hostile config does write its file (so the tests can fail)."""
    for _, cfg in hostile_configs(pwned, blob).values():
        try:
            made = instantiate(cfg)
            made = made() if callable(made) and cfg.get("_partial_") else made
            getattr(made, "close", lambda: None)()
        except Exception:
            pass  # the side effect comes first: RecurrentLM(<file>) fails after open() ran
    made = {p.name for p in pwned.iterdir()}
    assert made == {"open", "copy", "np.npy", "blob", "args", "tok", "data", "partial", "oc"}


@pytest.mark.parametrize("case", sorted(hostile_configs(Path("p"), Path("b"))))
def test_a_config_naming_a_foreign_target_is_refused(note_ckpt, tmp_path, pwned, blob, case):
    section, cfg = hostile_configs(pwned, blob)[case]
    path = with_config(note_ckpt, tmp_path / "evil.ckpt", section, cfg)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(path)
    with pytest.raises(UnsafeCheckpointError):
        safe_instantiate(cfg, path, section)  # also when called on its own
    message = str(info.value)
    assert str(path) in message and "refused" in message and "\n" not in message
    assert list(pwned.iterdir()) == []


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_pickled_code_is_refused_before_it_runs(note_ckpt, tmp_path, pwned, protocol):
    for path in (
        with_pickle_payload(note_ckpt, tmp_path / "evil.ckpt", pwned),
        legacy_pickle(tmp_path / "legacy.ckpt", pwned, protocol),
    ):
        with pytest.raises(UnsafeCheckpointError) as info:
            read_checkpoint(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert list(pwned.iterdir()) == []


def test_a_checkpoint_written_by_musicgen_train_holds_only_plain_data(note_ckpt, tmp_path):
    contents = torch.load(note_ckpt, weights_only=True)  # raises on anything else
    config = contents["musicgen"]["config"]
    data = safe_instantiate(config["data"], note_ckpt, "data")
    assert data.tokenizer.to_dict() == load_checkpoint(note_ckpt).tokenizer.to_dict()
    assert isinstance(contents["optimizer_states"], list) and contents["callbacks"]
    # the user's own overrides (musicgen-eval data.*=...) still apply
    shorter = safe_instantiate(config["data"], note_ckpt, "data", overrides={"seq_len": 16})
    assert shorter.seq_len == 16 and data.seq_len == config["data"]["seq_len"] != 16


def shipped_sections() -> list[tuple[str, str, dict]]:
    """The model and data config of every experiment and every data/model choice."""
    from omegaconf import OmegaConf

    choices = [f"experiment={p.stem}" for p in sorted((CONF_DIR / "experiment").glob("*.yaml"))]
    choices += [f"data={p.stem}" for p in sorted((CONF_DIR / "data").glob("*.yaml"))]
    choices += [f"model={p.stem}" for p in sorted((CONF_DIR / "model").glob("*.yaml"))]
    out = []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for choice in choices:
            if choice in ("data=music", "data=text"):
                continue  # the shared bases, never chosen on their own
            # melody/chord pairs train an encoder-decoder, not the default language model
            pairs = ["model=harmonizer_transformer"] if choice.endswith("_pairs") else []
            cfg = compose("train", overrides=[choice, *pairs])
            # resolved together: model.max_len follows data.seq_len, files follow paths
            parts = OmegaConf.create({k: cfg[k] for k in ("model", "data", "paths")})
            parts = OmegaConf.to_container(parts, resolve=True)
            for section in ("model", "data"):
                out.append((choice, section, parts[section]))
    return out


def test_every_shipped_config_passes_the_allow_list():
    sections = shipped_sections()
    assert len(sections) > 20
    for choice, section, cfg in sections:
        check_config(cfg, f"<{choice}>", section)  # raises if a shipped target is missing


def test_a_model_config_is_not_a_data_config(note_ckpt, tmp_path):
    """The allow-list is per role: a data module where the model belongs is refused."""
    data = torch.load(note_ckpt, weights_only=True)["musicgen"]["config"]["data"]
    path = with_config(note_ckpt, tmp_path / "swapped.ckpt", "model", data)
    with pytest.raises(UnsafeCheckpointError, match="not one of musicgen's model classes"):
        load_checkpoint(path)


def assert_one_line_refusal(res, program: str, path: Path, pwned: Path) -> None:
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{program}: error: "), res.stderr[-2000:]
    assert str(path) in lines[0]
    assert list(pwned.iterdir()) == []


@pytest.mark.parametrize(
    ("program", "case", "args"),
    [
        ("musicgen-sample", "pickle", ["n_samples=1"]),
        ("musicgen-sample", "legacy", []),
        ("musicgen-sample", "os-system", []),
        ("musicgen-sample", "data-tokenizer", ["prompt=heldout"]),
        ("musicgen-eval", "pickle", []),
        ("musicgen-eval", "copyfile", []),
        ("musicgen-eval", "data-itself", []),
    ],
)
def test_sample_and_eval_refuse_a_hostile_checkpoint(
    note_ckpt, tmp_path, pwned, blob, program, case, args
):
    path = tmp_path / "evil.ckpt"
    if case == "pickle":
        with_pickle_payload(note_ckpt, path, pwned)
    elif case == "legacy":
        legacy_pickle(path, pwned, protocol=2)
    else:
        with_config(note_ckpt, path, *hostile_configs(pwned, blob)[case])
    out = (
        f"out_dir={tmp_path / 'out'}"
        if program == "musicgen-sample"
        else f"out={tmp_path / 'm.json'}"
    )
    res = run(program, f"ckpt={path}", *args, out, cwd=tmp_path)
    assert_one_line_refusal(res, program, path, pwned)
    assert "refused" in res.stderr


def train_args(tmp: Path, ckpt: Path) -> list[str]:
    return [
        "model=transformer_small", "model.d_model=32", "model.n_layers=1", "model.max_len=128",
        "data=abc_files", f"data.files={BOOK}", "data.seq_len=64", "trainer.max_steps=8",
        f"data.cache_dir={tmp / 'cache'}", "data.prepare_workers=1", "logger=csv",
        f"hydra.run.dir={tmp / 'run'}", f"ckpt_path={ckpt}",
    ]  # fmt: skip


def test_resuming_from_a_hostile_checkpoint_is_refused(note_ckpt, tmp_path, pwned):
    path = with_pickle_payload(note_ckpt, tmp_path / "evil.ckpt", pwned)
    res = run("musicgen-train", *train_args(tmp_path, path), cwd=tmp_path)
    assert_one_line_refusal(res, "musicgen-train", path, pwned)
    assert not (tmp_path / "run" / "checkpoints").exists()  # refused before training started


def test_resuming_from_a_genuine_checkpoint_still_works(note_ckpt, tmp_path):
    """Lightning reads it with weights_only=True too: what musicgen-train writes passes."""
    path = tmp_path / "run" / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    path.write_bytes(note_ckpt.read_bytes())  # saved at step 6
    res = run("musicgen-train", *train_args(tmp_path, path), cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert torch.load(path, weights_only=True)["global_step"] == 8


def test_resuming_from_a_text_file_is_one_line(tmp_path, pwned):
    path = tmp_path / "notes.txt"
    path.write_text("not a checkpoint\n")
    res = run("musicgen-train", *train_args(tmp_path, path), cwd=tmp_path)
    assert_one_line_refusal(res, "musicgen-train", path, pwned)
    assert "not a torch checkpoint" in res.stderr


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory) -> Path:
    """A word-level LSTM trained for two steps on a tiny text, by musicgen-train."""
    tmp = tmp_path_factory.mktemp("text_run")
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "the", "dog", "ran", "to", "park"]
    lines = [" ".join(words[i % 7 :] + words[: i % 7]) for i in range(200)]
    (tmp / "tiny.txt").write_text("\n".join(lines) + "\n")
    res = run(
        "musicgen-train", "data=text_files", f"data.files={tmp / 'tiny.txt'}", "model=lstm_small",
        "model.embed_dim=16", "model.hidden_dim=16", "data.seq_len=16", "data.batch_size=4",
        "trainer.max_steps=2", "trainer.val_check_interval=2", "callbacks.samples.n_tunes=0",
        "logger=csv", f"data.cache_dir={tmp / 'cache'}", f"hydra.run.dir={tmp / 'run'}", cwd=tmp,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "run" / "checkpoints" / "last.ckpt"


def test_a_text_model_given_a_midi_prompt_names_the_file(text_ckpt, tmp_path):
    for name, data in [("tune.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60"),
                       ("tune.bin", b"\xff\xfe\x00\x81 binary")]:  # fmt: skip
        prompt = tmp_path / name
        prompt.write_bytes(data)
        res = run("musicgen-sample", f"ckpt={text_ckpt}", f"prompt={prompt}",
                  f"out_dir={tmp_path / 'out'}", cwd=tmp_path)  # fmt: skip
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
        (line,) = res.stderr.strip().splitlines()
        assert line.startswith("musicgen-sample: error: ") and str(prompt) in line
        assert "text model" in line
    assert not list((tmp_path / "out").glob("sample_*"))
    prompt = tmp_path / "prompt.txt"  # a text file is still a prompt
    prompt.write_text("the cat sat\n")
    res = run("musicgen-sample", f"ckpt={text_ckpt}", f"prompt={prompt}", "n_samples=1",
              "max_tokens=3", f"out_dir={tmp_path / 'out'}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "out" / "sample_00.txt").read_text().startswith("the cat sat")


def test_a_foreign_checkpoint_still_gets_the_old_errors(tmp_path):
    """Refusals are `CheckpointError`s too, so callers that catch those keep working."""
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="not a musicgen checkpoint"):
        read_checkpoint(path)
    assert issubclass(UnsafeCheckpointError, CheckpointError)
