"""Ready models: a training checkpoint exported small (float16) and found by its name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import torch
from conftest import ASSETS, BIN

from musicgen.data.documents import file_sha256
from musicgen.music import read_abc, read_midi, write_midi
from musicgen.training.checkpoint import CheckpointError, load_checkpoint
from musicgen.training.ready import PACKAGE_READY, export_ready, resolve_checkpoint

SRC = ASSETS / "note_ckpt_main_cdce7f0.ckpt"
TUNE = "X:1\nT:P\nM:3/4\nL:1/8\nK:G\nD2|G2 B2 d2|e2 d2 B2|A2 G2 A2|B4 D2|]\n"


@pytest.fixture
def ready(tmp_path):
    export_ready(SRC, "tiny", tmp_path / "ready", commit="cdce7f0", figures={"steps": 6})
    return tmp_path / "ready"


def test_the_export_is_smaller_float16_and_its_manifest_matches(ready):
    path = ready / "tiny.ckpt"
    assert path.stat().st_size < SRC.stat().st_size
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"state_dict", "global_step", "musicgen"}
    assert {v.dtype for v in raw["state_dict"].values()} == {torch.float16}
    manifest = json.loads((ready / "tiny.json").read_text())
    assert manifest["sha256"] == file_sha256(path)
    assert manifest["size_bytes"] == path.stat().st_size
    assert (manifest["commit"], manifest["steps"]) == ("cdce7f0", 6)
    assert manifest["figures"] == {"steps": 6}


def test_the_ready_model_gives_the_source_logits_to_fp16_rounding(ready):
    src, small = load_checkpoint(SRC), load_checkpoint(ready / "tiny.ckpt")
    assert small.step == 6 and next(small.model.parameters()).dtype == torch.float32
    (tune,) = read_abc(TUNE)
    ids = torch.tensor([src.tokenizer.encode(tune)[:40]])
    with torch.no_grad():
        want, got = src.model(ids)[0], small.model(ids)[0]
        for p in small.model.parameters():
            p.zero_()
        zeroed = small.model(ids)[0]
    assert torch.allclose(got, want, atol=2e-2, rtol=1e-2)
    assert not torch.allclose(zeroed, want, atol=2e-2, rtol=1e-2)  # the check can fail


def test_a_name_resolves_to_the_shipped_file_by_argument_and_env(ready, monkeypatch):
    assert resolve_checkpoint("tiny", ready) == ready / "tiny.ckpt"
    monkeypatch.setenv("MUSICGEN_READY_DIR", str(ready))
    assert resolve_checkpoint("tiny") == ready / "tiny.ckpt"
    assert resolve_checkpoint("some/file.ckpt") == type(ready)("some/file.ckpt")


def test_an_unknown_name_is_one_error_listing_the_shipped_names(ready, tmp_path):
    with pytest.raises(CheckpointError, match=r"ckpt=nosuch: .*ready models: tiny.*give a path"):
        resolve_checkpoint("nosuch", ready)
    with pytest.raises(CheckpointError, match=r"no ready model ships in .*give a path"):
        resolve_checkpoint("nosuch", tmp_path / "empty")


def test_a_corrupted_ready_model_is_refused(ready):
    path = ready / "tiny.ckpt"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt or replaced"):
        load_checkpoint(path)


def test_an_export_over_the_size_limit_is_refused_and_left_nowhere(tmp_path):
    with pytest.raises(CheckpointError, match="over max_mb=0.01"):
        export_ready(SRC, "tiny", tmp_path, max_mb=0.01)
    assert list(tmp_path.iterdir()) == []


def test_musicgen_sample_continues_a_prompt_from_a_ready_name(ready, tmp_path):
    (tune,) = read_abc(TUNE)
    write_midi(tune, tmp_path / "tune.mid")
    env = {**os.environ, "MUSICGEN_READY_DIR": str(ready)}
    res = subprocess.run(
        [str(BIN / "musicgen-sample"), "ckpt=tiny", "prompt=tune.mid", "prompt_bars=2",
         "n_samples=1", "max_bars=2", "seed=0", "audio=false", "out_dir=out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert str(ready / "tiny.ckpt") in res.stdout
    back = read_midi(tmp_path / "out" / "sample_00.mid")
    assert len(back.notes) > len(read_midi(tmp_path / "tune.mid").notes) // 2


def test_every_model_shipped_in_the_package_matches_its_manifest():
    ckpts = {p.stem for p in PACKAGE_READY.glob("*.ckpt")}
    manifests = {p.stem for p in PACKAGE_READY.glob("*.json")}
    assert ckpts == manifests, "every .ckpt needs a .json manifest and vice versa"
    for name in sorted(ckpts):
        manifest = json.loads((PACKAGE_READY / f"{name}.json").read_text())
        assert manifest["sha256"] == file_sha256(PACKAGE_READY / f"{name}.ckpt"), name
    assert (PACKAGE_READY / "README.md").is_file()


def test_a_model_file_in_the_ready_folder_is_committed_not_ignored():
    """`*.ckpt` is ignored elsewhere; a shipped model must reach a user's clone."""
    root = PACKAGE_READY.parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout: nothing to commit from here")
    probe = (PACKAGE_READY / "folk.ckpt").relative_to(root)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=root, check=False)
    assert ignored.returncode == 1, f"git ignores {probe}: a shipped model would not be committed"


def test_a_folder_given_as_a_checkpoint_still_gets_the_folder_message(tmp_path):
    with pytest.raises(CheckpointError, match="a folder; give the file"):
        load_checkpoint(tmp_path)


def test_the_export_takes_the_commit_the_training_run_recorded(tmp_path):
    ckpt = torch.load(SRC, map_location="cpu", weights_only=False)
    ckpt["musicgen"]["commit"] = "abc1234+dirty"
    torch.save(ckpt, tmp_path / "src.ckpt")
    path = export_ready(tmp_path / "src.ckpt", "tiny", tmp_path / "ready")
    assert json.loads(path.with_suffix(".json").read_text())["commit"] == "abc1234+dirty"
    path = export_ready(tmp_path / "src.ckpt", "tiny", tmp_path / "ready", commit="fedcba9")
    assert json.loads(path.with_suffix(".json").read_text())["commit"] == "fedcba9"


def test_some_other_file_sharing_a_checkpoints_stem_does_not_block_loading(tmp_path):
    """``model.ckpt`` beside a ``model.json`` that is not a manifest (a note, a half-written
    metrics file): an ordinary checkpoint, loaded as one."""
    src = tmp_path / "model.ckpt"
    src.write_bytes(SRC.read_bytes())
    src.with_suffix(".json").write_text('{"val/loss": 0.71, "note": "cut sho')
    assert load_checkpoint(src).tokenizer is not None
    # a manifest that is damaged is still its own clear error
    src.with_suffix(".json").write_text('{"kind": "musicgen-ready-model", "sha256": ')
    with pytest.raises(CheckpointError, match="unreadable ready-model manifest"):
        load_checkpoint(src)


def test_a_cut_short_manifest_in_the_ready_folder_is_an_error_not_a_skipped_hash(ready):
    (ready / "tiny.json").write_text("")  # an interrupted write
    for spec in ("tiny", str(ready / "tiny.ckpt")):
        with pytest.raises(CheckpointError, match="unreadable ready-model manifest"):
            load_checkpoint(resolve_checkpoint(spec, ready))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_a_checkout_reports_its_commit_and_whether_tracked_files_changed(tmp_path):
    from musicgen.training.provenance import code_commit

    assert code_commit(tmp_path) is None  # not a checkout: nothing to claim
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false",
           "-C", str(tmp_path)]  # fmt: skip
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "a.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert code_commit(tmp_path) == head
    (tmp_path / "a.py").write_text("x = 2\n")
    assert code_commit(tmp_path) == f"{head}+dirty"


FOLK_DOC = PACKAGE_READY.parents[1] / "docs" / "folk_model.md"


def test_the_shipped_folk_model_is_the_documented_one_and_continues_a_tune(tmp_path):
    """Issue 15's ready model: the file is the one docs/folk_model.md names (its sha256),
    and ``musicgen-sample ckpt=folk`` continues a G major tune in its key signature (G major
    or E minor: F sharp, no F), keeping the prompt, with a moving line."""
    manifest = json.loads((PACKAGE_READY / "folk.json").read_text())
    sha = file_sha256(PACKAGE_READY / "folk.ckpt")
    assert manifest["sha256"] == sha and manifest["recipe"] == "folk_cpu"
    assert (PACKAGE_READY / "folk.ckpt").stat().st_size <= 10e6
    assert sha in FOLK_DOC.read_text(), "docs/folk_model.md names another model"
    (tune,) = read_abc(TUNE)
    write_midi(tune, tmp_path / "tune.mid")
    n_samples = 4
    res = subprocess.run(
        [str(BIN / "musicgen-sample"), "ckpt=folk", "prompt=tune.mid", f"n_samples={n_samples}",
         "max_bars=8", "seed=0", "audio=false", "out_dir=out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if k != "MUSICGEN_READY_DIR"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert str(PACKAGE_READY / "folk.ckpt") in res.stdout
    prompt = sorted((n.start, n.pitch) for n in read_midi(tmp_path / "tune.mid").notes)
    g_major = {0, 2, 4, 6, 7, 9, 11}  # pitch classes of G major (F#, not F)
    shares = []
    for i in range(n_samples):
        back = read_midi(tmp_path / "out" / f"sample_0{i}.mid")
        notes = sorted((n.start, n.pitch) for n in back.notes)
        assert notes[: len(prompt)] == prompt, "the prompt is kept as it was"
        new = [p for _, p in notes[len(prompt) :]]
        assert len(new) >= 8, f"sample {i}: {len(new)} new notes"
        assert max(new) - min(new) >= 5, f"sample {i}: a static line, range {max(new) - min(new)}"
        shares.append(sum(p % 12 in g_major for p in new) / len(new))
    # the held-out figure is 0.974 in key; a sample may stray, the four together may not
    assert min(shares) >= 0.7 and sum(shares) / n_samples >= 0.9, f"in the key signature: {shares}"
