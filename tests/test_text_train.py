"""Next-word prediction on real text (a WikiText-2 slice, or the Python docs on a fresh clone),
as a user runs it: train, eval, sample."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from pydoc_data.topics import topics

import numpy as np
import pytest
from conftest import SHARED_DATA, run
from test_cli_eval import readme_fields

from musicgen.training.checkpoint import load_checkpoint
from musicgen.training.corpus import checkpoint_corpus

WIKI = SHARED_DATA / "text" / "wikitext-2"


@dataclass
class Corpus:
    """A text corpus for these runs, and what a trained model must do on it."""

    words: list[str]  # overrides for a word-level run
    chars: list[str]  # overrides for a character-level run
    unigram_floor: float  # the unigram perplexity of its validation slice is above this
    ratio: float  # the model's validation perplexity is below ratio * unigram


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    """A slice of WikiText-2 when the shared corpora are here; otherwise real English that
    every Python installation ships (the standard library's documentation topics,
    ``pydoc_data``, ~65k words), so a fresh clone trains, evaluates and samples text too."""
    if WIKI.is_dir():  # 4,000 lines of each split: ~220k words; measured unigram ~237, ~112
        root = [f"data.root={WIKI}", "data.max_lines=4000"]
        return Corpus(["data=wikitext2", *root], ["data=wikitext2_char", f"data.root={WIKI}",
                      "data.max_lines=300"], unigram_floor=200, ratio=0.55)  # fmt: skip
    text = tmp_path_factory.mktemp("pydoc") / "python_docs.txt"
    text.write_text("\n".join(topics[k] for k in sorted(topics)), encoding="utf-8")
    files = ["data=text_files", f"data.files={text}"]
    # measured: unigram 197.6, the model 105.2 (its validation block is other topics)
    return Corpus(files, [*files, "data.tokenizer.type=char", "data.seq_len=256"],
                  unigram_floor=150, ratio=0.7)  # fmt: skip


def train(tmp: Path, *extra: str) -> Path:
    res = run(
        "musicgen-train", "model=lstm_small", "data.seq_len=32", "data.batch_size=32",
        "trainer.max_steps=400", "trainer.val_check_interval=400", "logger=csv",
        "module.optimizer.lr=5e-3", "module.warmup_steps=20", "callbacks.samples.n_tunes=0",
        f"data.cache_dir={tmp / 'cache'}", f"hydra.run.dir={tmp / 'run'}", *extra, cwd=tmp,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "run"


@pytest.fixture(scope="module")
def word_run(corpus, tmp_path_factory) -> Path:
    # the 5,000 most frequent words of the slice; the rest is <unk>, as in small-vocab setups
    return train(tmp_path_factory.mktemp("word"), *corpus.words, "++data.tokenizer.max_size=5000")


def unigram_ppl(dm, split: str) -> float:
    """Perplexity on ``split`` of the training slice's word frequencies (add-one smoothed)."""
    counts = np.asarray(dm.cache.manifest["token_counts"], dtype=np.float64) + 1
    logp = np.log(counts / counts.sum())
    (doc,) = dm.splits[split]
    ids = np.asarray(dm.cache.document(int(doc)), dtype=np.int64)
    return math.exp(-logp[ids[1:]].mean())


def test_validation_perplexity_falls_well_below_the_unigram_perplexity(word_run, corpus):
    rows = list(csv.DictReader((word_run / "csv" / "metrics.csv").open()))
    word_ppl = [float(r["val/word_ppl"]) for r in rows if r.get("val/word_ppl")]
    ck = load_checkpoint(word_run / "checkpoints" / "last.ckpt")
    assert ck.tokenizer.vocab_size == 5000
    unigram = unigram_ppl(checkpoint_corpus(ck), "val")
    assert unigram > corpus.unigram_floor  # word frequencies alone leave this uncertainty
    # a model that uses the context does far better (see the measured figures in `corpus`)
    assert word_ppl and word_ppl[-1] < corpus.ratio * unigram, (word_ppl, unigram)


def test_musicgen_eval_writes_the_documented_json(word_run, tmp_path):
    out = tmp_path / "metrics.json"
    ckpt = word_run / "checkpoints" / "last.ckpt"
    res = run("musicgen-eval", f"ckpt={ckpt}", "split=val", f"out={out}", cwd=word_run.parent)
    assert res.returncode == 0, res.stderr[-3000:]
    (r,) = json.loads(out.read_text())["runs"]
    music_only = {"tunes", "nats_per_tune", "samples", "beats", "chord_nll_per_beat", "harmony"}
    assert readme_fields("### What musicgen-eval writes") - music_only <= set(r)
    ck = load_checkpoint(ckpt)
    dm = checkpoint_corpus(ck)
    assert r["words"] == dm.word_count("val") == len(dm.cache.document(1))
    assert r["word_ppl"] == pytest.approx(r["ppl"], rel=1e-9)  # one token per word
    # the state carries across the split: no worse than training's windows of 32 words
    rows = list(csv.DictReader((word_run / "csv" / "metrics.csv").open()))
    windows = [float(x["val/word_ppl"]) for x in rows if x.get("val/word_ppl")][-1]
    assert r["word_ppl"] < windows * 1.02
    assert f"{r['word_ppl']:.2f}" in res.stdout


def test_word_perplexity_of_a_subword_model_counts_words_not_tokens(corpus, tmp_path):
    run_dir = train(
        tmp_path, *corpus.chars, "trainer.max_steps=30", "trainer.val_check_interval=30"
    )  # fmt: skip
    out = tmp_path / "m.json"
    res = run(
        "musicgen-eval", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "split=test",
        f"out={out}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    (r,) = json.loads(out.read_text())["runs"]
    assert r["tokenizer"] == "char" and r["tokens"] > 4 * r["words"]  # characters per word
    # the same total likelihood, spread over words: word ppl = token ppl ** (tokens per word)
    per_word = r["nll"] / (r["words"] * r["tokens"] / (r["tokens"] + 16))
    assert r["nats_per_word"] == pytest.approx(per_word, rel=1e-3)
    assert r["word_ppl"] > r["ppl"] ** 4


def test_musicgen_sample_continues_a_text_prompt(word_run, tmp_path):
    ckpt = word_run / "checkpoints" / "last.ckpt"
    prompt = "This morning I took my cat for a"
    res = run(
        "musicgen-sample", f"ckpt={ckpt}", f"prompt={prompt}", "n_samples=2", "max_tokens=20",
        f"out_dir={tmp_path / 'out'}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    texts = [p.read_text().strip() for p in sorted((tmp_path / "out").glob("sample_*.txt"))]
    assert len(texts) == 2
    ck = load_checkpoint(ckpt)
    shown = ck.tokenizer.decode(ck.tokenizer.encode(prompt)[:-1])  # unknown words as <unk>
    for text in texts:
        assert text.startswith(shown) and len(text.split()) > len(shown.split())
        assert text in res.stdout
