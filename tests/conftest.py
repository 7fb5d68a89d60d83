"""Shared fixtures: where the shared corpora live, and a skip when they are absent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real corpora: ../shared/data beside the checkout, or where MUSICGEN_SHARED_DATA points (the
# configs read the same variable). A fresh clone has neither, and the corpus tests skip.
SHARED_DATA = Path(os.environ.get("MUSICGEN_SHARED_DATA") or ROOT.parent / "shared" / "data")
ASSETS = Path(__file__).resolve().parent / "assets"
BIN = Path(sys.executable).parent
RUN = "outputs/train/2026-01-01/00-00-00-tiny"  # where musicgen-train puts a run


def _book() -> Path:
    from musicgen.data.sources import music21_corpus_dir

    return music21_corpus_dir() / "essenFolksong" / "altdeu10.abc"


# A real Essen tune book shipped with music21 (a dependency): 10 kB, about 25 tunes.
BOOK = _book()
# A harmoniser's corpus: one tune whose every bar outlines its own chord ({n}: its number).
HARMONY_BOOK = """X:{n}
T:Tune {n}
M:4/4
L:1/4
K:C
"C"C E G E|"F"F A c A|"G"G B d B|"C"c G E C|]
"""


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real corpora in ../shared/data; tests that need them skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED_DATA} (they live beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Tiny models run faster on one thread: more threads cost more than they save."""
    import torch  # here, so that the torch-free tests never import it

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def kill_after_checkpoints(proc: subprocess.Popen, last: Path, n: int) -> None:
    """SIGKILL a training process once its ``last.ckpt`` has been rewritten ``n`` times.

    Asserts the process was still running when killed (a run that ends first proves
    nothing about resuming)."""
    seen, deadline = set(), time.time() + 300
    while len(seen) < n and time.time() < deadline and proc.poll() is None:
        if last.is_file():
            seen.add(last.stat().st_mtime_ns)
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="session")
def note_ckpt(tmp_path_factory) -> Path:
    """A tiny note-token Transformer trained for a few steps by musicgen-train."""
    tmp = tmp_path_factory.mktemp("note_run")
    res = run(
        "musicgen-train", "model=transformer_small", "model.d_model=32", "model.n_layers=1",
        "model.max_len=128", "data=abc_files", f"data.files={BOOK}", "data.seq_len=64",
        f"data.cache_dir={tmp / 'cache'}", "data.prepare_workers=1", "trainer.max_steps=6",
        "trainer.val_check_interval=3", "logger=csv", f"hydra.run.dir={tmp / RUN}", cwd=tmp,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / RUN / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def char_ckpt(tmp_path_factory) -> Path:
    """The lab's character LSTM, small, trained until it has learned a five-tune book by heart."""
    tmp = tmp_path_factory.mktemp("char_run")
    res = run(
        "musicgen-train", "experiment=irish_lstm_lab", f"data.files={ASSETS / 'tiny_book.abc'}",
        "model.embed_dim=32", "model.hidden_dim=128", "data.seq_len=64", "data.batch_size=8",
        "data.val_fraction=0.0", "data.test_fraction=0.0", "trainer.max_steps=250",
        "trainer.val_check_interval=250", "trainer.limit_val_batches=0", "logger=csv",
        "module.optimizer.lr=1e-2", f"data.cache_dir={tmp / 'cache'}",
        "data.prepare_workers=1", f"hydra.run.dir={tmp / 'run'}", cwd=tmp,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "run" / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def harmony_ckpt(tmp_path_factory) -> Path:
    """A tiny harmoniser (encoder-decoder Transformer) trained by ``musicgen-train`` for 4
    steps on six copies of :data:`HARMONY_BOOK`'s tune (the corpus keeps one copy)."""
    tmp = tmp_path_factory.mktemp("harmony_run")
    (tmp / "book.abc").write_text("\n".join(HARMONY_BOOK.format(n=i) for i in range(1, 7)))
    res = run(
        "musicgen-train", "experiment=nottingham_harmonize_transformer", f"hydra.run.dir={RUN}",
        f"data.files={tmp / 'book.abc'}", "data.batch_size=2", "logger=csv",
        "model.d_model=16", "model.n_heads=2", "model.max_beats=64", "data.max_beats=64",
        "trainer.max_steps=4", "trainer.val_check_interval=2", "trainer.enable_progress_bar=false",
        cwd=tmp,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / RUN / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def text_ckpt(tmp_path_factory) -> Path:
    """A tiny character-level text LSTM, 4 steps on real English (Python's own docs)."""
    from pydoc_data.topics import topics

    tmp = tmp_path_factory.mktemp("text_run")
    text = tmp / "docs.txt"
    text.write_text("\n".join(topics[k] for k in sorted(topics)[:20]), encoding="utf-8")
    res = run(
        "musicgen-train", "model=lstm_small", "data=text_files", f"data.files={text}",
        "data.tokenizer.type=char", "data.seq_len=32", "data.batch_size=8",
        "trainer.max_steps=4", "trainer.val_check_interval=4", "logger=csv",
        "callbacks.samples.n_tunes=0", f"data.cache_dir={tmp / 'cache'}",
        f"hydra.run.dir={tmp / 'run'}", cwd=tmp,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "run" / "checkpoints" / "last.ckpt"
