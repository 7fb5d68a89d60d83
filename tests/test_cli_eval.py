"""``musicgen-eval`` on music checkpoints that ``musicgen-train`` wrote: JSON, table, errors."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, run

from musicgen.evaluation.likelihood import document_nll
from musicgen.training.checkpoint import load_checkpoint


def readme_fields(section: str) -> set[str]:
    """The JSON fields the README documents in the table under ``section``."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index(section) :]
    block = block[: block.index("\n\n", block.index("| field"))]
    first_cells = re.findall(r"^\| ([^|]+) \|", block, flags=re.M)
    return {name for c in first_cells for name in re.findall(r"`(\w+)`", c)}


def test_a_music_checkpoint_gets_nats_per_token_and_per_tune(note_ckpt, tmp_path):
    out = tmp_path / "metrics.json"
    res = run(
        "musicgen-eval", f"ckpt={note_ckpt}", "split=test", f"out={out}", "n_samples=16",
        "max_bars=4", "prompt_bars=2", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(out.read_text())
    (r,) = report["runs"]
    assert report["split"] == r["split"] == "test"
    assert {k: report[k] for k in r} == r  # one checkpoint: its figures at the top level too
    assert r["loss"] == r["nats_per_token"]
    # the figures are the sum over the test tunes, each scored from its first token
    ck = load_checkpoint(note_ckpt)
    from musicgen.training.corpus import checkpoint_corpus

    dm = checkpoint_corpus(ck)
    docs = [dm.cache.document(int(i)) for i in dm.splits["test"]]
    nll = sum(document_nll(ck.model, docs))
    assert r["tunes"] == len(docs) > 0
    assert r["tokens"] == sum(len(d) - 1 for d in docs)
    assert r["nats_per_tune"] == pytest.approx(nll / len(docs), rel=1e-5)
    assert r["nats_per_token"] == pytest.approx(nll / r["tokens"], rel=1e-5)
    assert r["ppl"] == pytest.approx(2.718281828 ** r["nats_per_token"], rel=1e-6)
    assert r["tokenizer"] == "note" and r["model"] == "TransformerLM"
    # every field the README documents for music checkpoints is there
    assert readme_fields("### What musicgen-eval writes") - {
        "words",
        "nats_per_word",
        "word_ppl",
        "beats",  # the harmonisers' fields
        "chord_nll_per_beat",
        "harmony",
    } <= set(r)
    # and the printed table carries the same numbers
    assert f"{r['nats_per_tune']:.1f}" in res.stdout and "nats/tune" in res.stdout
    # samples: new pieces, continuations, and the other held-out split's real tunes
    assert set(r["samples"]) == {"new", "continuation", "real"}
    sample_fields = readme_fields("Music checkpoints also get `samples`")
    assert {"bar_correct", "in_key", "memorisation", "pitch_class_kl"} <= sample_fields
    for kind, figures in r["samples"].items():
        assert sample_fields - {"plot"} <= set(figures), kind
        split = {"new": None, "continuation": "test", "real": "val"}[kind]
        assert figures["n_samples"] == (16 if split is None else min(16, len(dm.splits[split])))
        assert figures["valid_rate"] == figures["n_valid"] / figures["n_samples"]
        # six training steps, and still every sample has notes (the grammar sees to it)
        assert figures["valid_rate"] == 1.0, kind
        acc, ci = figures["classifier_accuracy"], figures["classifier_ci"]
        assert acc is None or ci[0] <= acc <= ci[1]
        if figures["n_valid"]:
            assert Path(figures["plot"]).stat().st_size > 10_000  # a PNG of three panels
    # real tunes: read without loss, in key, and bars that mostly fit (the book's tunes fill
    # 87.7% of their bars exactly on the grid, rests counting as missing time; these are 3)
    real = r["samples"]["real"]
    assert real["valid_rate"] == 1.0 and real["in_key"] > 0.8 and real["bar_correct"] > 0.7
    assert "continuation" in res.stdout and "memorised" in res.stdout and "clf acc" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "metrics_plots"]


def test_two_checkpoints_give_one_comparison_table(note_ckpt, char_ckpt, tmp_path):
    out = tmp_path / "both.json"
    res = run(
        "musicgen-eval", f"ckpt=[{note_ckpt},{char_ckpt}]", "split=train", f"out={out}",
        "n_samples=0", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    runs = json.loads(out.read_text())["runs"]
    assert [r["tokenizer"] for r in runs] == ["note", "char"]
    assert all(r["nats_per_tune"] > 0 for r in runs)
    table = res.stdout[res.stdout.index("musicgen-eval, train split:") :].splitlines()
    assert table[1].split()[:3] == ["run", "step", "tokenizer"] and set(table[2]) == {"-", " "}
    assert [row.split()[0] for row in table[3:5]] == [r["name"] for r in runs]


def test_a_bad_checkpoint_or_split_is_one_clear_line(note_ckpt, tmp_path):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    for args, words in [
        ([f"ckpt={tmp_path / 'missing.ckpt'}"], "no such checkpoint file"),
        ([f"ckpt={junk}"], str(junk)),
        ([f"ckpt={note_ckpt}", "split=dev"], "split=dev: choose one of train, val, test"),
    ]:
        res = run("musicgen-eval", *args, "out=null", cwd=tmp_path)
        assert res.returncode == 2
        assert words in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert not Path(tmp_path / "metrics.json").exists()


def test_the_comparison_report_shows_the_classifier_beside_the_other_metrics(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "report", ROOT / "scripts" / "comparison_report.py"
    )
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    figures = {"n_samples": 32, "n_valid": 32, "classifier_accuracy": 0.625,
               "classifier_ci": [0.44, 0.78]}  # fmt: skip
    run_record = {"name": "folk_cpu", "samples": {"new": figures, "real": {**figures,
                  "classifier_accuracy": None, "classifier_ci": None}}}  # fmt: skip
    page = report.render({"split": "test", "runs": [run_record]}, tmp_path / "README.md")
    header = next(line for line in page.splitlines() if line.startswith("| run | samples"))
    assert "classifier accuracy (95% CI)" in header
    new_row = next(line for line in page.splitlines() if "new pieces (32/32)" in line)
    assert new_row.rstrip(" |").endswith("0.62 (0.44-0.78)")
    real_row = next(line for line in page.splitlines() if "real (held out)" in line)
    assert real_row.rstrip(" |").endswith("-")
