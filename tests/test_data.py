"""The token cache, splits, windows and MusicDataModule on real files."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ASSETS

from musicgen.data import MusicDataModule, prepare_cache, split_documents
from musicgen.data.windows import IGNORE_INDEX, TokenWindows
from musicgen.music import read_abc
from musicgen.tokenizers import CharTokenizer, NoteTokenizer

BOOK = ASSETS / "tiny_book.abc"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    dst = tmp_path / "src" / "tiny_book.abc"
    dst.parent.mkdir()
    shutil.copy(BOOK, dst)
    return dst


def test_cache_holds_each_tune_once_and_records_what_was_skipped(book, tmp_path):
    tok = NoteTokenizer()
    cache = prepare_cache([book], tok, tmp_path / "cache", name="tiny", num_workers=1)
    m = cache.manifest
    # 7 tunes: tune 4 repeats tune 1's notes, tune 5 has an impossible tuplet "(0", which
    # is dropped (one bad token costs one token) and recorded
    assert m["counts"]["documents"] == 6
    assert m["counts"]["duplicates_removed"] == 1
    assert m["skipped"] == [] and [s["tune"] for s in m["repaired"]] == ["5"]
    assert (
        "tuplet" in m["repaired"][0]["reason"].lower() and "line 38" in m["repaired"][0]["reason"]
    )
    titles = [d[2] for d in m["documents"]]
    assert titles == [
        "Test Jig One",
        "Test Reel Two",
        "Test Waltz Three",
        "Broken Tune",
        "Test Hornpipe Six",
        "Test Air Seven",
    ]

    # the ids in the cache are exactly the tokenizer's encoding of each tune
    tunes = {t.title: t for t in read_abc(book)}
    for i, title in enumerate(titles):
        assert cache.document(i).tolist() == tok.encode(tunes[title])
    assert isinstance(cache.tokens, np.memmap)
    assert m["counts"]["tokens"] == len(cache.tokens) == cache.offsets[-1]
    assert sum(m["token_counts"]) == m["counts"]["tokens"]
    assert m["sources"][0]["sha256"] and m["tokenizer"] == tok.to_dict()


def test_a_character_level_cache_skips_a_tune_it_could_not_read_back(book, tmp_path):
    cache = prepare_cache([book], CharTokenizer(), tmp_path / "cache", name="t", num_workers=1)
    m = cache.manifest
    assert [s["tune"] for s in m["skipped"]] == ["5"] and m["repaired"] == []
    assert "unreadable token" in m["skipped"][0]["reason"]


def test_same_inputs_reuse_the_cache_and_changes_rebuild_it(book, tmp_path):
    tok = NoteTokenizer()
    first = prepare_cache([book], tok, tmp_path / "cache", name="tiny", num_workers=1)
    again = prepare_cache([book], tok, tmp_path / "cache", name="tiny", num_workers=1)
    assert not first.reused and again.reused and again.path == first.path
    book.write_text(book.read_text().replace("K:Edor", "K:Ador"))
    edited = prepare_cache([book], tok, tmp_path / "cache", name="tiny", num_workers=1)
    assert not edited.reused and edited.path != first.path
    other_tok = NoteTokenizer(steps_per_quarter=24)
    retok = prepare_cache([book], other_tok, tmp_path / "cache", name="tiny", num_workers=1)
    assert not retok.reused and retok.path not in (first.path, edited.path)


def test_worker_processes_give_the_same_cache_as_one_process(tmp_path):
    files = sorted((ASSETS).glob("*.abc"))
    one = prepare_cache(files, NoteTokenizer(), tmp_path / "a", num_workers=1, progress=False)
    two = prepare_cache(files, NoteTokenizer(), tmp_path / "b", num_workers=2, progress=False)
    assert np.array_equal(one.tokens, two.tokens)
    assert one.manifest["documents"] == two.manifest["documents"]


def test_a_killed_preparation_leaves_no_cache_that_looks_complete(tmp_path):
    """SIGKILL a real preparation of the folk corpus mid-way, then prepare again."""
    cache_dir = tmp_path / "cache"
    code = (
        "from musicgen.data import prepare_cache, folk_files\n"
        "from musicgen.tokenizers import NoteTokenizer\n"
        f"prepare_cache(folk_files(), NoteTokenizer(), {str(cache_dir)!r}, name='folk',"
        " num_workers=1, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    tokens = []
    while time.time() < deadline and not (tokens and tokens[0].stat().st_size > 10_000):
        time.sleep(0.05)  # wait until it has written part of the tokens
        tokens = list(cache_dir.glob(".folk-*.tmp-*/tokens.bin"))
    assert proc.poll() is None, "preparation finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not [p for p in cache_dir.glob("folk-*") if p.is_dir()]  # nothing looks complete
    files = sorted((ASSETS).glob("*.abc"))
    cache = prepare_cache(files, NoteTokenizer(), cache_dir, name="folk", num_workers=1)
    assert not cache.reused and cache.manifest["counts"]["documents"] > 0


def test_splits_are_by_tune_deterministic_and_stable_when_the_corpus_grows():
    hashes = [f"tune-{i}" for i in range(1000)]
    a = split_documents(hashes, 0.1, 0.1, seed=3)
    b = split_documents(hashes, 0.1, 0.1, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    together = np.concatenate([a["train"], a["val"], a["test"]])
    assert sorted(together.tolist()) == list(range(1000))  # disjoint and complete
    assert 60 < len(a["val"]) < 140 and 60 < len(a["test"]) < 140
    grown = split_documents(hashes + [f"new-{i}" for i in range(100)], 0.1, 0.1, seed=3)
    for k in a:  # the old tunes keep their split
        assert np.array_equal(grown[k][grown[k] < 1000], a[k])
    other = split_documents(hashes, 0.1, 0.1, seed=4)
    assert not np.array_equal(other["val"], a["val"])
    tiny = split_documents(["x", "y", "z"], 0.05, 0.05)
    assert len(tiny["val"]) == 1 and len(tiny["test"]) == 1 and len(tiny["train"]) == 1


def test_windows_are_shifted_by_one_and_cross_document_boundaries():
    tokens = np.arange(100, dtype=np.uint16)
    offsets = np.array([0, 10, 25, 60, 100])
    ds = TokenWindows(tokens, offsets, np.array([1, 3]), seq_len=8, pad_id=0)
    stream = np.concatenate([tokens[10:25], tokens[60:100]])  # documents 1 and 3
    assert ds.n_tokens == len(stream) == 55
    xs, ys = zip(*(ds[i] for i in range(len(ds))), strict=True)
    assert len(ds) == 7
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        n = int((y != IGNORE_INDEX).sum())  # real targets; the rest is padding
        assert torch.equal(x[1:n], y[: n - 1])
        seg = stream[i * 8 : i * 8 + 9]
        assert x[: len(seg) - 1].tolist() == seg[:-1].tolist()
        assert y[: len(seg) - 1].tolist() == seg[1:].tolist()
    # every next-token pair of the stream is served exactly once
    pairs = sum(int((y != IGNORE_INDEX).sum()) for y in ys)
    assert pairs == len(stream) - 1


def test_music_datamodule_serves_windows_from_a_real_book(book, tmp_path):
    dm = MusicDataModule(
        NoteTokenizer(), name="tiny", files=str(book), seq_len=16, batch_size=4,
        val_fraction=0.2, test_fraction=0.2, cache_dir=str(tmp_path / "cache"), prepare_workers=1,
    )  # fmt: skip
    dm.prepare_data(progress=False)
    dm.setup("fit")
    n = dm.cache.n_documents
    assert sum(len(v) for v in dm.splits.values()) == n == 6  # 7 tunes, one duplicate
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == y.shape == (min(4, len(dm.dataset("train"))), 16)
    follows = y[:, 1:] != IGNORE_INDEX  # where a next target exists, x[t + 1] is y[t]
    assert (x[:, 1:] == y[:, :-1])[follows].all()
    assert len(dm.val_dataloader()) >= 1 and len(dm.test_dataloader()) >= 1


def test_transposition_augmentation_moves_pitches_with_the_key(book, tmp_path):
    tok = NoteTokenizer()
    dm = MusicDataModule(
        tok, name="tiny", files=str(book), seq_len=512, val_fraction=0.0, test_fraction=0.0,
        cache_dir=str(tmp_path / "cache"), prepare_workers=1, transpose=5,
    )  # fmt: skip
    dm.prepare_data(progress=False)
    plain = dm.dataset("train")
    plain.transpose = None
    moved = dm.dataset("train")
    torch.manual_seed(0)
    seen_shift = False
    for i in range(len(moved)):
        x0, _ = plain[i]
        x1, _ = moved[i]
        assert x0.shape == x1.shape
        if not torch.equal(x0, x1):
            seen_shift = True
            d0, d1 = tok.decode(x0.tolist()), tok.decode(x1.tolist())
            shifts = {b.pitch - a.pitch for a, b in zip(d0.notes, d1.notes, strict=True)}
            assert len(shifts) == 1 and -5 <= shifts.pop() <= 5
    assert seen_shift


def test_char_level_documents_are_the_raw_text_of_readable_tunes(book, tmp_path):
    tok = CharTokenizer()
    cache = prepare_cache([book], tok, tmp_path / "cache", name="chars", num_workers=1)
    assert cache.manifest["counts"]["documents"] == 5  # the broken tune is not taught
    text = tok.decode(cache.document(0).tolist())
    assert text.startswith("X:1") and "T:Test Jig One" in text and "|:A|dfa afd|" in text
    json.dumps(cache.manifest)  # the manifest is plain JSON
