"""Samples of a music checkpoint scored with the musical metrics, next to real held-out tunes.

Two kinds of samples: new pieces (from ``<bos>``) and continuations of the split's tunes
from their first bars, of which only the generated bars are scored. Every set is compared
with the split's tunes (the reference); the real tunes of the *other* held-out split are
scored the same way, which gives the figures a model should reach (two real sets never
overlap perfectly). Note-token and character-level ABC checkpoints are both handled: ABC
samples go through our reader, and unreadable ones count against the valid rate.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

from musicgen.generation.continuation import (
    continue_abc,
    continue_abc_tune,
    continue_score,
    continue_tune,
)
from musicgen.generation.prompt import prompt_end
from musicgen.metrics import NgramIndex, histograms, plot_histograms, score_set, written_bars
from musicgen.music import Score
from musicgen.music.abc import read_abc_book
from musicgen.music.edit import tail

OTHER_SPLIT = {"test": "val", "val": "test", "train": "test"}
# A sample: the score (None when ABC text does not read) and, for ABC text, the bars as
# written, which bar correctness judges (a Score no longer knows where its bar lines were).
Sample = tuple[Score | None, list | None]


def read_tune(text: str) -> Score | None:
    """The first tune of an ABC text, or None when our reader rejects it, drops any of it
    (a warning), or it has no notes. Written order: the metrics compare what is written."""
    book = read_abc_book(text)
    if book.errors or book.warnings or not book.tunes or not book.tunes[0].notes:
        return None
    return book.tunes[0]


def split_tunes(dm, split: str, n: int | None = None) -> list[tuple[Score, str | None]]:
    """``n`` tunes spread evenly over a split (all when None): (score, ABC text or None).

    Evenly spread, not the first ``n``: a corpus is cached in file order, so the first
    tunes of a split all come from its first collection.
    """
    dm.setup()
    docs = spread(list(dm.splits[split]), n)
    out = []
    for i in docs:
        ids = dm.cache.document(int(i)).tolist()
        if dm.tokenizer.kind == "abc":
            text = dm.tokenizer.decode(ids)
            score = read_tune(text)
            if score is not None:  # the cache keeps only tunes our reader accepts
                out.append((score, text))
        else:
            out.append((dm.tokenizer.decode(ids), None))
    return out


def spread(items: list, n: int | None) -> list:
    """``n`` items evenly spaced over ``items`` (all of them when None or not fewer)."""
    if n is None or n >= len(items):
        return items
    return [items[i * len(items) // n] for i in range(n)]


def new_pieces(model, tokenizer, n: int, max_bars: int, sampling: dict) -> list[Sample]:
    """``n`` pieces from nothing, ``max_bars`` bars each."""
    if tokenizer.kind != "abc":
        scores, _ = continue_score(
            model, tokenizer, None, max_bars=max_bars, n_samples=n, **sampling
        )
        return [(s, None) for s in scores]
    texts = continue_abc(model, tokenizer, max_bars=max_bars, n_samples=n, **sampling)
    return [(read_tune(t), written_bars(t)) for t in texts]


def continuations(
    model, tokenizer, tunes: list[tuple[Score, str | None]], prompt_bars: int, max_bars: int,
    sampling: dict,
) -> list[Sample]:  # fmt: skip
    """Each tune cut to ``prompt_bars`` bars and continued for ``max_bars``: the new bars only."""
    out: list[Sample] = []
    for k, (score, text) in enumerate(tunes):
        seed = {**sampling, "seed": sampling.get("seed", 0) + k}
        if text is None:
            *_, new = continue_tune(model, tokenizer, score, prompt_bars, max_bars=max_bars, **seed)
            out.append((new, None))
            continue
        prompt_text, full_text = continue_abc_tune(
            model, tokenizer, text, prompt_bars, max_bars=max_bars, **seed
        )
        prompt, full = read_tune(prompt_text), read_tune(full_text)
        if full is None or prompt is None:
            out.append((None, None))
            continue
        start = prompt_end(prompt)
        bars = [
            replace(b, start=b.start - start) for b in written_bars(full_text) if b.start >= start
        ]
        out.append((tail(full, start), bars))
    return out


def evaluate_samples(
    ck, dm, split: str, *, n_samples: int, prompt_bars: int, max_bars: int, sampling: dict,
    plots: Path | None, train_index: NgramIndex | None, say=None,
) -> dict:  # fmt: skip
    """Metrics of new pieces, of continuations, and of the other held-out split's real tunes.

    ``say`` reports each phase as it starts (minutes on a CPU for 32 samples); by default
    a line on standard output, flushed at once.

    Returns ``{"new": {...}, "continuation": {...}, "real": {...}}``, each the
    :func:`musicgen.metrics.score_set` figures against the ``split``'s tunes.
    """
    say = say or partial(print, flush=True)
    reference = split_tunes(dm, split)
    ref_scores = [s for s, _ in reference]
    abc = ck.tokenizer.kind == "abc"
    real = [
        (s, written_bars(t) if abc else None)
        for s, t in split_tunes(dm, OTHER_SPLIT[split], n_samples)
    ]
    say(f"  drawing {n_samples} new pieces of {max_bars} bars ...")
    new = new_pieces(ck.model, ck.tokenizer, n_samples, max_bars, sampling)
    say(f"  continuing {n_samples} {split} tunes from {prompt_bars} bars for {max_bars} ...")
    tunes = spread(reference, n_samples)  # decoded once, above
    continued = continuations(ck.model, ck.tokenizer, tunes, prompt_bars, max_bars, sampling)
    say(f"  scoring them against {len(ref_scores)} {split} tunes ...")
    sets = {"new": new, "continuation": continued, "real": real}
    result, ref_histograms = {}, histograms(ref_scores)
    for kind, samples in sets.items():
        scores = [s for s, _ in samples]
        bars = [b for _, b in samples] if abc else None
        result[kind] = score_set(scores, ref_scores, train_index, written_bars=bars)
        if plots is not None and result[kind]["n_valid"]:
            path = plots / f"{ck.config.get('name', 'run')}_{kind}.png"
            generated = histograms([s for s in scores if s is not None])
            plot_histograms(generated, ref_histograms, path, title=f"{kind} vs {split}")
            result[kind]["plot"] = str(path)
    if plots is not None:
        say(f"  histogram plots: {plots}/")
    return result


def training_index(dm) -> NgramIndex:
    """The 4-bar n-grams of every training tune (the memorisation check's reference)."""
    return NgramIndex.from_scores(s for s, _ in split_tunes(dm, "train"))
