"""A user who installs the wheel (outside the checkout) gets working entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_finds_configs_and_the_folk_corpus(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("musicgen-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q",
         "--target", str(site), str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import musicgen, musicgen.conf; print(musicgen.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(site)), "imported the checkout, not the wheel"
    # the ready models ship inside the wheel and resolve by name there, hash checked
    ready = subprocess.run(
        [sys.executable, "-c", "from musicgen.training.ready import resolve_checkpoint as r,"
         " verify_ready as v; p = r('folk'); print(p, v(p)['sha256'])"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert ready.returncode == 0, ready.stderr[-2000:]
    path, sha = ready.stdout.split()
    assert path == str(site / "musicgen" / "ready" / "folk.ckpt") and len(sha) == 64
    res = subprocess.run(
        [str(site / "bin" / "musicgen-prepare"), "data=folk", f"data.cache_dir={work / 'cache'}"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "corpus 'folk': 1129 files" in res.stdout
    tunes = int(res.stdout.split("tunes: ")[1].split()[0].replace(",", ""))
    assert tunes > 8000
