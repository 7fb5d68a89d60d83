"""The token cache: a corpus tokenized once into a flat memmap plus document offsets.

Layout of one cache folder (``<cache_dir>/<name>-<key16>/``)::

    tokens.bin      every document's ids back to back, uint16 (uint32 for vocabularies > 65,535)
    offsets.npy     int64 (n_documents + 1,): document i is tokens[offsets[i]:offsets[i+1]]
    manifest.json   sources with their sha256, tokenizer config, counts, skipped items with
                    reasons, one record per document; written last

The key hashes the source files' contents, the tokenizer config and the reader options, so
the same inputs reuse the cache and any change rebuilds it. The folder is built under a
temporary name and renamed into place, so a killed run never leaves a cache that looks
complete. Reading maps the file: memory does not grow with the corpus.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from musicgen.data.documents import FileResult, file_sha256, read_documents
from musicgen.tokenizers import tokenizer_from_dict

FORMAT_VERSION = 1
# What a file reads as: bumped when the readers change it (2: ABC accidentals in every
# octave, tunes kept without an unreadable token), so no cache of the old reading is reused.
READER_VERSION = 2
# What a manifest may name as the token dtype. Anything else is refused before mapping:
# numpy maps object dtype ("O") as raw pointers, and reading them crashes the process.
TOKEN_DTYPES = ("uint16", "uint32")


class CacheError(ValueError):
    """A cache folder that cannot be read as a token cache; the message names the folder."""


@dataclass
class TokenCache:
    """A prepared corpus, memory-mapped."""

    path: Path
    tokens: np.ndarray  # (n_tokens,) memmap
    offsets: np.ndarray  # (n_documents + 1,)
    manifest: dict
    reused: bool = False

    @classmethod
    def open(cls, path: str | Path, reused: bool = True) -> TokenCache:
        path = Path(path)
        manifest = json.loads((path / "manifest.json").read_text())
        if manifest.get("dtype") not in TOKEN_DTYPES:
            raise CacheError(
                f"{path}: manifest.json names token dtype {manifest.get('dtype')!r}; "
                f"a token cache holds one of {', '.join(TOKEN_DTYPES)}; "
                "delete the folder to rebuild it."
            )
        if (path / "tokens.bin").stat().st_size:
            tokens = np.memmap(path / "tokens.bin", dtype=manifest["dtype"], mode="r")
        else:  # a corpus where every file was skipped: nothing to map
            tokens = np.zeros(0, dtype=manifest["dtype"])
        offsets = np.load(path / "offsets.npy")
        return cls(path, tokens, offsets, manifest, reused)

    @property
    def n_documents(self) -> int:
        return len(self.offsets) - 1

    def document(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]


def cache_key(files: Sequence[Path], tokenizer_config: dict, reader: dict) -> str:
    """sha256 over the files' names and contents, the tokenizer config and reader options."""
    h = hashlib.sha256()
    h.update(f"musicgen-cache-v{FORMAT_VERSION}".encode())
    for f in files:
        h.update(f"{Path(f).name}:{file_sha256(f)}\n".encode())
    h.update(json.dumps(tokenizer_config, sort_keys=True).encode())
    h.update(json.dumps(reader, sort_keys=True).encode())
    return h.hexdigest()


def cache_folder(
    files: Sequence[Path], tokenizer, cache_dir: str | Path, name: str, expand_repeats: bool
) -> Path:
    """The folder where these inputs' cache lives (whether or not it is built yet)."""
    key = cache_key(files, tokenizer.to_dict(), {"expand_repeats": expand_repeats})
    return Path(cache_dir) / f"{name}-{key[:16]}"


def prepare_cache(
    files: Sequence[Path],
    tokenizer,
    cache_dir: str | Path,
    name: str = "corpus",
    expand_repeats: bool = False,
    num_workers: int | None = None,
    progress: bool = True,
) -> TokenCache:
    """Tokenize ``files`` into a cache folder, or reuse the one the same inputs made.

    Args:
        files: ABC and MIDI files.
        tokenizer: any tokenizer with ``to_dict()``; workers rebuild it from that dict.
        cache_dir: where cache folders live.
        name: a readable prefix for the folder (the corpus name).
        expand_repeats: ABC reader option, part of the key.
        num_workers: worker processes (default: the CPU count, at most 8).
        progress: show a progress bar over files.
    """
    reader = {"expand_repeats": expand_repeats, "version": READER_VERSION}
    final = cache_folder(files, tokenizer, cache_dir, name, expand_repeats)
    key = final.name.rsplit("-", 1)[1]

    def build(tmp: Path) -> dict:
        results = _read_all(files, tokenizer.to_dict(), expand_repeats, num_workers, progress)
        return _write(tmp, results, tokenizer, name, key, reader)

    return build_once(final, build)


def build_once(final: Path, build: Callable[[Path], dict]) -> TokenCache:
    """Open the cache folder ``final``, or build it: ``build(tmp)`` writes the token files
    into a temporary folder and returns the manifest, which is written last; the folder is
    then renamed into place, so it appears complete or not at all."""
    if (final / "manifest.json").is_file():
        return TokenCache.open(final, reused=True)
    start = time.perf_counter()
    remove_stale_temporaries(final.parent)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    manifest = build(tmp)
    manifest["seconds"] = round(time.perf_counter() - start, 3)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    try:
        os.replace(tmp, final)  # atomic: the folder appears complete or not at all
    except OSError:  # another process finished the same cache first
        shutil.rmtree(tmp, ignore_errors=True)
    return TokenCache.open(final, reused=False)


def remove_stale_temporaries(cache_dir: Path) -> list[Path]:
    """Removes the ``.<name>.tmp-<pid>`` folders of builds whose process is gone (killed
    mid-build); a live process's folder is left alone. Returns what was removed."""
    removed = []
    for tmp in cache_dir.glob(".*.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if tmp.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read_all(files, tok_config, expand_repeats, num_workers, progress) -> Iterator[FileResult]:
    """Each file's result in file order, as workers finish them (never all in memory)."""
    jobs = [(str(f), tok_config, expand_repeats) for f in files]
    workers = min(num_workers or min(os.cpu_count() or 1, 8), len(jobs))
    off = None if progress else True  # None: tqdm draws no bar when stderr is not a terminal
    with tqdm(total=len(jobs), desc="tokenizing", unit="file", disable=off) as bar:
        if workers <= 1:
            for job in jobs:
                yield _worker(job)
                bar.update()
            return
        # spawn: the parent may hold torch's thread pool, which fork would copy mid-use
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
            chunksize = max(1, len(jobs) // (workers * 16))
            for result in pool.imap(_worker, jobs, chunksize=chunksize):
                yield result
                bar.update()


_TOKENIZERS: dict[str, object] = {}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def exit_with_parent(parent: int) -> None:
    """Pool initializer: the worker ends when the process that started it dies.

    A SIGKILLed parent cannot stop its pool, and orphaned workers would keep tokenizing.
    On Linux the kernel kills the worker (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon
    thread polls the parent's pid.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass  # no usable libc: poll instead
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int, every: float = 0.5) -> None:
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _worker(job: tuple[str, dict, bool]) -> FileResult:
    path, tok_config, expand_repeats = job
    key = json.dumps(tok_config, sort_keys=True)
    if key not in _TOKENIZERS:  # build once per worker process
        _TOKENIZERS[key] = tokenizer_from_dict(tok_config)
    return read_documents(path, _TOKENIZERS[key], expand_repeats)


def token_dtype(vocab_size: int) -> np.dtype:
    """The cache's id type: uint16 while the ids fit, else uint32."""
    return np.dtype(np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32)


def manifest_head(name: str, key: str, dtype: np.dtype, tokenizer) -> dict:
    """The fields every cache manifest (music or text) starts with."""
    return {
        "format": FORMAT_VERSION,
        "name": name,
        "key": key,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "dtype": np.dtype(dtype).name,
        "tokenizer": tokenizer.to_dict(),
    }


def _write(folder: Path, results: Iterable[FileResult], tokenizer, name, key, reader) -> dict:
    """Stream every result's documents into ``folder``; returns the manifest (not yet written)."""
    dtype = token_dtype(tokenizer.vocab_size)
    seen: set[str] = set()
    docs, skipped, repaired, sources = [], [], [], []
    offsets = [0]
    counts = np.zeros(tokenizer.vocab_size, dtype=np.int64)
    duplicates = 0
    n_files = 0
    with open(folder / "tokens.bin", "wb") as out:
        for src, r in enumerate(results):
            n_files += 1
            skipped.extend(r.skipped)
            repaired.extend(r.repaired)
            kept = 0
            for d in r.documents:
                if d.notes_hash in seen:  # exact duplicate notes: keep the first only
                    duplicates += 1
                    continue
                seen.add(d.notes_hash)
                out.write(d.ids.astype(dtype).tobytes())
                counts += np.bincount(d.ids, minlength=tokenizer.vocab_size)
                offsets.append(offsets[-1] + len(d.ids))
                docs.append([src, d.tune, d.title, d.notes_hash, d.n_notes])
                kept += 1
            sources.append({"path": r.path, "sha256": r.sha256, "documents": kept})
    np.save(folder / "offsets.npy", np.asarray(offsets, dtype=np.int64))
    return {
        **manifest_head(name, key, dtype, tokenizer),
        "reader": reader,
        "counts": {
            "files": n_files,
            "documents": len(docs),
            "tokens": int(offsets[-1]),
            "notes": int(sum(d[4] for d in docs)),
            "duplicates_removed": duplicates,
            "skipped": len(skipped),
            "repaired": len(repaired),
        },
        "token_counts": counts.tolist(),
        "sources": sources,
        "skipped": skipped,
        "repaired": repaired,
        "document_fields": ["source", "tune", "title", "notes_hash", "n_notes"],
        "documents": docs,
    }
