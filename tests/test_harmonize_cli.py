"""A tiny harmoniser trains with musicgen-train, then musicgen-sample harmonises a MIDI melody."""

from __future__ import annotations

import json

import pytest
from conftest import HARMONY_BOOK as BOOK
from conftest import run
from test_cli_eval import readme_fields

from musicgen.music import read_abc, read_midi, write_midi


@pytest.mark.slow
def test_tiny_harmoniser_trains_and_harmonises_a_midi_melody(harmony_ckpt, tmp_path):
    # harmony_ckpt: musicgen-train on the tune book in a subprocess (tests/conftest.py)
    (melody,) = read_abc(BOOK.format(n=9))
    melody.chord_symbols = []
    write_midi(melody, tmp_path / "melody.mid")
    ckpt = harmony_ckpt
    sampled = run(
        "musicgen-sample", f"ckpt={ckpt}", "prompt=melody.mid", "n_samples=1", "out_dir=out",
        "audio=false", cwd=tmp_path,
    )  # fmt: skip
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    out = read_midi(tmp_path / "out" / "sample_00.mid")
    programs = {n.program for n in out.notes}
    assert len(programs) == 2  # the melody and a chord track
    assert [n.pitch for n in out.notes if n.program == min(programs)] == [
        n.pitch for n in melody.notes
    ]
    assert (tmp_path / "out" / "attention_00.png").stat().st_size > 1000
    assert "sample_00 (greedy): " in sampled.stdout
    refused = run("musicgen-sample", f"ckpt={ckpt}", "out_dir=out", cwd=tmp_path)
    assert refused.returncode == 2 and "give it a melody" in refused.stderr
    _eval_scores_the_baselines_with_known_answers(ckpt, tmp_path)


def _eval_scores_the_baselines_with_known_answers(ckpt, tmp_path):
    # the six tunes are one tune (the corpus keeps one copy): it is the train split
    res = run("musicgen-eval", f"ckpt={ckpt}", "split=train", "out=m.json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["tunes"] == 1 and report["beats"] == 16
    assert report["chord_nll_per_beat"] > 0
    harmony = report["harmony"]
    assert set(harmony) == {"model", "real", "key_baseline", "melody_baseline"}
    assert harmony["real"]["chord_accuracy"] == 1.0
    # the key's commonest chord is C (bars 1 and 4): right on half the beats
    assert harmony["key_baseline"]["chord_accuracy"] == 0.5
    # every bar outlines its own chord: the melody baseline finds them all
    assert harmony["melody_baseline"]["chord_accuracy"] == 1.0
    assert harmony["real"]["chord_coverage"] == 3 and harmony["real"]["chord_tone_ratio"] == 1.0
    assert "harmonisation" in res.stdout and "melody_baseline" in res.stdout
    # every figure the README documents for harmonisers is in each system's record
    documented = readme_fields("Harmonisers (`tokenizer: harmony`)")
    assert len(documented) == 7 and all(documented <= set(f) for f in harmony.values())
