"""What ``musicgen-prepare`` does (its entry point, :mod:`musicgen.cli.prepare`, imports this
module once the command line is parsed): build the token cache, print its statistics."""

from __future__ import annotations

import time

import numpy as np
from omegaconf import DictConfig

from musicgen.cli.common import instantiate_data
from musicgen.data.splits import split_documents


def prepare(cfg: DictConfig) -> None:
    """Build (or find) the token cache of ``cfg.data`` and print its statistics."""
    data = instantiate_data(cfg.data)
    text = data.tokenizer.kind == "text"
    if not text:
        print(f"corpus '{data.name}': {len(data.source_files())} files")
    start = time.perf_counter()
    cache = data.prepare_data()
    seconds = time.perf_counter() - start
    print((format_text_statistics if text else format_statistics)(cache, data, seconds))


def format_statistics(cache, data, seconds: float, max_skipped: int = 10) -> str:
    """A readable summary of a prepared corpus."""
    m = cache.manifest
    c = m["counts"]
    used = int(np.count_nonzero(m["token_counts"]))
    hashes = [d[3] for d in m["documents"]]
    splits = split_documents(hashes, data.val_fraction, data.test_fraction, data.seed)
    verb = "reused" if cache.reused else "built"
    lines = [
        f"cache: {cache.path} ({verb} in {seconds:.2f} s)",
        f"tunes: {c['documents']:,} (exact duplicates removed: {c['duplicates_removed']:,})",
        f"notes: {c['notes']:,}   tokens: {c['tokens']:,}"
        f" ({c['tokens'] / max(c['documents'], 1):.1f} per tune)",
        "splits (tunes): " + ", ".join(f"{k} {len(v):,}" for k, v in splits.items()),
        f"vocabulary: {used} of {len(m['token_counts'])} tokens used",
        f"skipped: {c['skipped']:,}",
    ]
    for s in m["skipped"][:max_skipped]:
        tune = f" [{s['tune']}]" if s["tune"] else ""
        lines.append(f"  - {s['path']}{tune}: {s['reason']}")
    if c["skipped"] > max_skipped:
        lines.append(f"  ... {c['skipped'] - max_skipped} more in {cache.path / 'manifest.json'}")
    if c.get("repaired"):  # caches built before READER_VERSION 2 have no such count
        lines.append(
            f"kept without an unreadable token: {c['repaired']:,} tune(s)"
            f" (listed under 'repaired' in {cache.path / 'manifest.json'})"
        )
    return "\n".join(lines)


def format_text_statistics(cache, data, seconds: float) -> str:
    """A readable summary of a prepared text corpus."""
    m = cache.manifest
    verb = "reused" if cache.reused else "built"
    lines = [
        f"corpus '{data.name}': {m['tokenizer']['type']}-level, vocabulary {data.vocab_size:,}",
        f"cache: {cache.path} ({verb} in {seconds:.2f} s, tokenizer fitted on train only)",
    ]
    for split, c in m["splits"].items():
        lines.append(
            f"{split}: {c['lines']:,} lines, {c['words']:,} words (with one <eos> per line),"
            f" {c['tokens']:,} tokens ({c['tokens'] / max(c['words'], 1):.2f} per word)"
        )
    return "\n".join(lines)
