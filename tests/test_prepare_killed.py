"""A ``musicgen-prepare`` killed mid-build leaves neither workers nor temporary folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from musicgen.data.cache import remove_stale_temporaries
from musicgen.data.sources import music21_corpus_dir

SCRIPT = Path(sys.executable).parent / "musicgen-prepare"
ESSEN = music21_corpus_dir() / "essenFolksong"  # 32 real tune books, 2.6 MB


def big_corpus(folder: Path, copies: int = 20) -> Path:
    """The Essen books, each linked ``copies`` times: 640 files, so each worker's chunk of
    files takes many seconds (a worker left running would still be busy well after its
    parent died)."""
    folder.mkdir()
    for book in sorted(ESSEN.glob("*.abc")):
        for i in range(copies):
            (folder / f"{book.stem}-{i}.abc").symlink_to(book)
    return folder


def children(parent: int) -> list[int]:
    """Pids of the running processes whose parent is ``parent`` (read from /proc)."""
    pids = (int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit())
    return [pid for pid in pids if running(pid) and _stat(pid)[1] == parent]


def running(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has ended, only not yet reaped


def _stat(pid: int) -> tuple[str, int] | None:
    """The process's state letter and parent pid, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]  # the fields after "(command)"
    return state, int(ppid)


def prepare(cache: Path, cwd: Path, files: str, **kwargs):
    args = [
        str(SCRIPT), "data=abc_files", f"data.files={files}", f"data.cache_dir={cache}",
        "data.prepare_workers=2",
    ]  # fmt: skip
    return subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, **kwargs)


def test_a_killed_prepare_leaves_no_workers_and_the_rerun_no_temporary_folder(tmp_path):
    assert Path("/proc/self/stat").is_file(), "this test reads /proc (Linux)"
    cache = tmp_path / "cache"
    files = f"{big_corpus(tmp_path / 'corpus')}/*.abc"
    proc = prepare(cache, tmp_path, files, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers, deadline = [], time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        workers = [p for p in children(proc.pid) if "spawn_main" in _cmdline(p)]
        if len(workers) == 2 and list(cache.glob(".*.tmp-*")):
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(workers) == 2, "the build ended before it could be killed"
    time.sleep(1)  # the workers are tokenizing their first chunk now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while any(running(p) for p in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not [p for p in workers if running(p)], "workers outlived their killed parent"
    (stale,) = cache.glob(".*.tmp-*")  # what the killed build left

    # the next build into the same cache folder, here of one small book, cleans up
    book = ESSEN / "altdeu10.abc"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    rerun = prepare(cache, tmp_path, book, **pipes)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    assert "built in" in out
    assert not stale.exists() and not list(cache.glob(".*.tmp-*"))
    assert len([p for p in cache.iterdir() if (p / "manifest.json").is_file()]) == 1


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_only_the_temporary_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is now free (reaped)
    (tmp_path / f".corpus-abc.tmp-{dead.pid}").mkdir()
    (tmp_path / f".corpus-abc.tmp-{os.getpid()}").mkdir()  # a live build: ours
    (tmp_path / "corpus-abc").mkdir()  # a finished cache
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [f".corpus-abc.tmp-{dead.pid}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".corpus-abc.tmp-{os.getpid()}", "corpus-abc"]
    )
