"""``musicgen-prepare`` as a user runs it: a subprocess, real configs, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ASSETS

SCRIPT = Path(sys.executable).parent / "musicgen-prepare"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_prepare_prints_statistics_then_reuses_the_cache(tmp_path):
    args = (
        "data=abc_files",
        f"data.files={ASSETS / 'tiny_book.abc'}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.prepare_workers=1",
    )
    first = run(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "corpus 'abc_files': 1 files" in out
    assert "tunes: 6 (exact duplicates removed: 1)" in out  # tune 5 loses one bad token
    assert "skipped: 0" in out and "kept without an unreadable token: 1 tune(s)" in out
    assert "built in" in out
    second = run(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "reused in" in second.stdout
    assert second.stdout.split("cache:")[1].split("(")[0] == out.split("cache:")[1].split("(")[0]


def test_a_pattern_that_matches_nothing_is_one_clear_line(tmp_path):
    res = run("data=abc_files", "data.files=no/such/*.abc", cwd=tmp_path)
    assert res.returncode == 2
    assert "musicgen-prepare: error: no abc files match 'no/such/*.abc'" in res.stderr or (
        "no music files match 'no/such/*.abc'" in res.stderr
    )
    assert "Traceback" not in res.stderr


def test_a_corrupt_midi_corpus_is_skipped_with_reasons_not_a_crash(tmp_path):
    (tmp_path / "midi").mkdir()
    (tmp_path / "midi" / "garbage.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    (tmp_path / "midi" / "empty.mid").write_bytes(b"")
    res = run(
        "data=midi_files", f"data.files={tmp_path / 'midi'}/*.mid",
        f"data.cache_dir={tmp_path / 'cache'}", "data.prepare_workers=1", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "tunes: 0" in res.stdout and "skipped: 2" in res.stdout
    assert "garbage.mid" in res.stdout and "empty.mid" in res.stdout


def test_abc_files_that_raise_are_skipped_with_reasons_and_the_rest_kept(tmp_path):
    folder = tmp_path / "abc"
    folder.mkdir()
    (folder / "empty.abc").write_bytes(b"")
    (folder / "noise.abc").write_bytes(bytes(range(256)) * 4)
    (folder / "limits.abc").write_text(
        "X:1\nT:Huge unit\nL:1e9\nK:C\nCDEF|\n\n"
        "X:2\nT:Endless rest\nK:C\nZ9000000000000|C|\n\n"
        "X:3\nT:Kept\nK:D\nDEFG ABcd|\n"
    )
    (folder / "good.abc").write_text((ASSETS / "tiny_book.abc").read_text())
    res = run(
        "data=abc_files", f"data.files={folder}/*.abc",
        f"data.cache_dir={tmp_path / 'cache'}", "data.prepare_workers=1", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (manifest_path,) = (tmp_path / "cache").glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    reasons = {(Path(s["path"]).name, s["tune"]): s["reason"] for s in manifest["skipped"]}
    assert reasons[("empty.abc", "")] == "empty file"
    assert "no tunes" in reasons[("noise.abc", "")]
    # a field or token past a limit costs that field or token, not the tune: each is kept
    # without it and the reason is recorded (a tune that cannot be read at all is skipped)
    repaired = {(Path(s["path"]).name, s["tune"]): s["reason"] for s in manifest["repaired"]}
    assert "unit note length" in repaired[("limits.abc", "1")]
    assert "multi-bar rest" in repaired[("limits.abc", "2")]
    kept = {Path(s["path"]).name: s["documents"] for s in manifest["sources"]}
    assert kept["limits.abc"] == 3 and kept["good.abc"] >= 1
