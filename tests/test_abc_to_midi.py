"""A tune read from ABC and written to MIDI keeps its notes, tempo, meter and key."""

from __future__ import annotations

from fractions import Fraction

import mido
import pytest

from musicgen.music import read_abc, read_midi, write_midi

TUNE = """X:1
T:Tempo And Meter
M:6/8
L:1/8
Q:3/8=60
K:Bm
B2c d2e|f3 f2e|[M:9/8]d2c B2A B3|]
"""


def test_abc_tempo_meter_and_key_survive_midi(tmp_path):
    (score,) = read_abc(TUNE)
    path = tmp_path / "tune.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert [(n.pitch, n.start, n.duration) for n in back.notes] == [
        (n.pitch, n.start, n.duration) for n in score.notes
    ]
    assert [(t.start, t.qpm) for t in back.tempos] == [(Fraction(0), 90.0)]  # 3/8=60 is 90 qpm
    assert [(t.start, t.numerator, t.denominator) for t in back.time_signatures] == [
        (Fraction(0), 6, 8),
        (Fraction(6), 9, 8),
    ]
    assert (back.key.tonic, back.key.mode) == ("B", "minor")
    # and what a plain MIDI library sees in the file
    metas = {m.type: m for t in mido.MidiFile(path).tracks for m in t if m.is_meta}
    assert metas["key_signature"].key == "Bm"
    assert mido.tempo2bpm(metas["set_tempo"].tempo) == pytest.approx(90.0)


def test_a_tune_without_q_gets_the_abc_default_tempo(tmp_path):
    (score,) = read_abc("X:1\nT:No Tempo\nM:2/4\nL:1/8\nK:G\nGABc|d2B2|]\n")
    write_midi(score, tmp_path / "t.mid")
    back = read_midi(tmp_path / "t.mid")
    assert [t.qpm for t in back.tempos] == [120.0]
    assert (back.key.tonic, back.key.mode) == ("G", "major")
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(2, 4)]
