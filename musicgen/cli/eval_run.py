"""What ``musicgen-eval`` does (its entry point, :mod:`musicgen.cli.eval`, imports this module
once the command line is parsed): loss and perplexity of checkpoints on a split, JSON + table.

Each checkpoint is scored on the split of its own corpus, rebuilt from the data config it
carries (the token cache the training run made is found again by its key):

- text checkpoints: the whole split as one stream (``evaluation.likelihood.stream_nll``), in
  nats per token and per word, and word-level perplexity, which compares across word, BPE
  and character tokenizers;
- harmonisers (tokenizer kind "harmony"): chord NLL and accuracy per beat and the
  Yeh et al. 2021 metrics, for the model, the real chords and two baselines
  (``evaluation.harmony.evaluate_harmoniser``);
- music checkpoints: every tune scored from its first token (``document_nll``), in nats
  per token and per tune; then samples (new pieces and continuations of the split's tunes)
  scored with the musical metrics against the split's tunes, next to the other held-out
  split's real tunes (``musicgen.evaluation.samples``), with histogram plots.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from omegaconf import DictConfig, ListConfig

from musicgen.cli.common import UserError
from musicgen.evaluation.harmony import evaluate_harmoniser
from musicgen.evaluation.likelihood import document_nll, stream_nll
from musicgen.evaluation.samples import evaluate_samples, training_index
from musicgen.models import num_parameters
from musicgen.training.checkpoint import LoadedCheckpoint, load_checkpoint
from musicgen.training.corpus import checkpoint_corpus
from musicgen.training.ready import resolve_checkpoint

SPLITS = ("train", "val", "test")


def run(cfg: DictConfig) -> None:
    """Evaluate, print the tables, write the JSON report to ``cfg.out`` (if set)."""
    report = evaluate_checkpoints(cfg)
    print(format_table(report))
    if cfg.out:
        out = Path(cfg.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {out}")


def checkpoint_paths(ckpt) -> list[Path]:
    """``ckpt`` as a list of files: one path, "last" or a ready-model name, or a list."""
    items = list(ckpt) if isinstance(ckpt, ListConfig | list | tuple) else [ckpt]
    return [resolve_checkpoint(c) for c in items]


def evaluate_checkpoints(cfg: DictConfig) -> dict:
    """The report: ``{"split": ..., "runs": [one record per checkpoint]}``; with a single
    checkpoint, its record's fields are at the top level as well."""
    if cfg.split not in SPLITS:
        raise UserError(f"split={cfg.split}: choose one of {', '.join(SPLITS)}")
    runs, indexes = [], {}
    for path in checkpoint_paths(cfg.ckpt):
        ck = load_checkpoint(path)
        print(f"evaluating {path} (step {ck.step}) on the {cfg.split} split")
        runs.append(evaluate_checkpoint(ck, cfg, indexes))
    report = {"split": cfg.split, "runs": runs}
    if len(runs) == 1:  # one checkpoint: its figures at the top level too (jq .word_ppl)
        report = runs[0] | report
    return report


def evaluate_checkpoint(ck: LoadedCheckpoint, cfg: DictConfig, indexes: dict | None = None) -> dict:
    """One checkpoint's record (see the README's table of fields).

    ``indexes`` caches each corpus's training n-gram index across checkpoints.
    """
    dm = checkpoint_corpus(ck, cfg.get("data"))
    start = time.perf_counter()
    record = {
        "checkpoint": str(ck.path),
        "name": ck.config.get("name") or ck.path.parent.parent.name,
        "step": ck.step,
        "split": cfg.split,
        "corpus": dm.name,
        "tokenizer": ck.tokenizer.to_dict()["type"],
        "vocab_size": ck.tokenizer.vocab_size,
        "model": ck.config["model"]["_target_"].rsplit(".", 1)[-1],
        "parameters": num_parameters(ck.model),
    }
    if ck.tokenizer.kind == "harmony":
        record |= evaluate_harmoniser(
            ck.model, dm, cfg.split, cfg.batch_size, cfg.decoding, cfg.beam_width
        )
    elif ck.tokenizer.kind == "text":
        record |= _text_scores(ck, dm, cfg)
    else:
        record |= _music_scores(ck, dm, cfg)
        if cfg.n_samples > 0:
            record["samples"] = _sample_scores(ck, dm, cfg, indexes if indexes is not None else {})
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def _token_scores(nll: float, tokens: int) -> dict:
    per = nll / tokens if tokens else float("nan")
    return {
        "tokens": tokens,
        "nll": nll,
        "loss": per,  # what training logs as val/loss
        "nats_per_token": per,
        "bits_per_token": per / math.log(2),
        "ppl": math.exp(per),
    }


def _text_scores(ck: LoadedCheckpoint, dm, cfg: DictConfig) -> dict:
    (doc,) = dm.splits[cfg.split]
    ids = dm.cache.document(int(doc))
    print(f"  likelihood of the {cfg.split} split ({len(ids):,} tokens) ...", flush=True)
    result = stream_nll(ck.model, ids, segments=cfg.segments, chunk=cfg.chunk, stride=cfg.stride)
    words = dm.word_count(cfg.split)
    # the parts' first tokens are context only: scale to the words the scored tokens span
    scored_words = words * result.tokens / max(len(ids), 1)
    per_word = result.nll / scored_words
    return _token_scores(result.nll, result.tokens) | {
        "words": words,
        "nats_per_word": per_word,
        "word_ppl": math.exp(per_word),
    }


def _music_scores(ck: LoadedCheckpoint, dm, cfg: DictConfig) -> dict:
    docs = [dm.cache.document(int(i)) for i in dm.splits[cfg.split]]
    if not docs:
        raise UserError(f"{ck.path}: the {cfg.split} split of '{dm.name}' has no tunes")
    print(f"  likelihood of the {len(docs)} {cfg.split} tunes ...", flush=True)
    per_tune = document_nll(ck.model, docs, batch_size=cfg.batch_size)
    tokens = sum(len(d) - 1 for d in docs)
    nll = sum(per_tune)
    return _token_scores(nll, tokens) | {
        "tunes": len(docs),
        "nats_per_tune": nll / len(docs),
    }


def _sample_scores(ck: LoadedCheckpoint, dm, cfg: DictConfig, indexes: dict) -> dict:
    key = dm.cache.manifest["key"]
    if key not in indexes:
        print("  indexing the training tunes' 4-bar n-grams (memorisation) ...", flush=True)
        indexes[key] = training_index(dm)
    plots = cfg.plots or (Path(cfg.out).with_suffix("").as_posix() + "_plots" if cfg.out else None)
    if plots is not None:
        Path(plots).mkdir(parents=True, exist_ok=True)
    sampling = {k: cfg[k] for k in ("temperature", "top_k", "top_p", "repetition_penalty", "seed")}
    return evaluate_samples(
        ck, dm, cfg.split, n_samples=cfg.n_samples, prompt_bars=cfg.prompt_bars,
        max_bars=cfg.max_bars, sampling=sampling, plots=Path(plots) if plots else None,
        train_index=indexes[key],
    )  # fmt: skip


COLUMNS = (  # (header, record key, format)
    ("run", "name", "{}"),
    ("step", "step", "{:,}"),
    ("tokenizer", "tokenizer", "{}"),
    ("params", "parameters", "{:,}"),
    ("tokens", "tokens", "{:,}"),
    ("nats/token", "nats_per_token", "{:.4f}"),
    ("ppl", "ppl", "{:.2f}"),
    ("word ppl", "word_ppl", "{:.2f}"),
    ("tunes", "tunes", "{:,}"),
    ("nats/tune", "nats_per_tune", "{:.1f}"),
    ("beats", "beats", "{:,}"),
    ("nll/beat", "chord_nll_per_beat", "{:.4f}"),
)

HARMONY_COLUMNS = (  # Yeh et al. 2021's metrics, beside accuracy against the real chords
    ("run", "run", "{}"),
    ("chords", "system", "{}"),
    ("acc/beat", "chord_accuracy", "{:.3f}"),
    ("CHE", "chord_histogram_entropy", "{:.3f}"),
    ("CC", "chord_coverage", "{:.2f}"),
    ("CTD", "chord_tonal_distance", "{:.3f}"),
    ("CTnCTR", "chord_tone_ratio", "{:.3f}"),
    ("PCS", "pitch_consonance", "{:.3f}"),
    ("MCTD", "melody_chord_tonal_distance", "{:.3f}"),
)


SAMPLE_COLUMNS = (
    ("run", "run", "{}"),
    ("samples", "kind", "{}"),
    ("valid", "valid_rate", "{:.2f}"),
    ("bars ok", "bar_correct", "{:.3f}"),
    ("in key", "in_key", "{:.3f}"),
    ("pc overlap", "pitch_class_overlap", "{:.3f}"),
    ("dur overlap", "duration_overlap", "{:.3f}"),
    ("int overlap", "interval_overlap", "{:.3f}"),
    ("pc KL", "pitch_class_kl", "{:.3f}"),
    ("notes/qn", "note_density", "{:.2f}"),
    ("range", "pitch_range", "{:.1f}"),
    ("rep. bars", "repeated_bars", "{:.3f}"),
    ("memorised", "memorisation", "{:.3f}"),
    ("clf acc", "classifier_accuracy", "{:.2f}"),
    ("clf 95% CI", "classifier_ci", "{0[0]:.2f}-{0[1]:.2f}"),
)


def _table(title: str, columns, records: list[dict]) -> list[str]:
    cols = [c for c in columns if any(r.get(c[1]) is not None for r in records)]
    rows = [[h for h, _, _ in cols]]
    for r in records:
        rows.append([fmt.format(r[k]) if r.get(k) is not None else "-" for _, k, fmt in cols])
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    lines = [title]
    for j, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
        lines.append("  ".join(cells))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_table(report: dict) -> str:
    """Plain-text tables of the report: likelihood per run, then the sample metrics."""
    runs = report["runs"]
    lines = _table(f"musicgen-eval, {report['split']} split:", COLUMNS, runs)
    samples = [
        {"run": r["name"], "kind": kind, **figures}
        for r in runs
        for kind, figures in r.get("samples", {}).items()
    ]
    harmony = [
        {"run": r["name"], "system": system, **figures}
        for r in runs
        for system, figures in r.get("harmony", {}).items()
    ]
    if harmony:
        lines += _table("\nharmonisation (tune means; accuracy pooled over beats):",
                        HARMONY_COLUMNS, harmony)  # fmt: skip
    if samples:
        split = report["split"]
        title = f"\nsamples against the {split} tunes ('real': the other held-out split):"
        lines += _table(title, SAMPLE_COLUMNS, samples)
    return "\n".join(lines)
