"""``scripts/comparison_report.py``: the harmonisers get their own table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "comparison_report.py"


def load_script():
    spec = importlib.util.spec_from_file_location("comparison_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_harmonisers_get_a_table_of_their_four_chord_sequences(tmp_path):
    figures = {"chord_accuracy": 0.61, "chord_tone_ratio": 0.9, "pitch_consonance": 0.5}
    harmoniser = {
        "name": "nottingham_harmonize_lstm", "step": 1500, "chord_nll_per_beat": 1.234,
        "harmony": {s: figures for s in ("model", "real", "key_baseline", "melody_baseline")},
    }  # fmt: skip
    music = {"name": "folk_lstm", "step": 10, "nats_per_token": 1.5, "tunes": 3}
    page = load_script().render({"split": "test", "runs": [music, harmoniser]}, tmp_path / "R.md")
    section = page.split("## Harmonisation", 1)[1].split("## Histograms", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| nottingham")]
    assert len(rows) == 4 and "1.234" in rows[0] and "0.610" in rows[0]
    assert "real chords" in rows[1] and "key's commonest chord" in rows[2]
    likelihood = page.split("## Likelihood", 1)[1].split("## Samples", 1)[0]
    assert "folk_lstm" in likelihood and "nottingham" not in likelihood
