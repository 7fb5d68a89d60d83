"""The chord vocabulary and the harmony tokenizer: hand-made symbols and the real corpus."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from musicgen.music import read_abc
from musicgen.tokenizers import HarmonyTokenizer, tokenizer_from_dict
from musicgen.tokenizers.chords import ChordCounter, parse_chord
from musicgen.tokenizers.harmony import HarmonyInputError, chords_per_beat, n_beats

TUNE = """X:1
T:Two bars
M:6/8
L:1/8
K:G
"G"GAB "D7"A2F|"Em"E3 "C"c3|]
"""


@pytest.mark.parametrize(
    ("symbol", "name"),
    [("G", "G"), ("Am", "Am"), ("D7", "D7"), ("Bb", "A#"), ("Db", "C#"), ("F#m", "F#m"),
     ("D/f+", "D"), ("(E7)", "E7"), ("Cd", "Cdim"), ("Bbd", "A#dim"), ("Ea", "Eaug"),
     ("Gmaj7", "Gmaj7"), ("Bm7", "Bm7"), ("Dm6", "Dm"), ("E7b9", "E7"), ("Asus4", "Asus"),
     ("Gm/bb", "Gm")],
)  # fmt: skip
def test_symbols_fold_onto_the_vocabulary(symbol, name):
    assert parse_chord(symbol).name == name


@pytest.mark.parametrize("symbol", [" ", "", "H7", "xyz", "Gwhat"])
def test_unmappable_symbols_are_recorded(symbol):
    counter = ChordCounter()
    counter.add([symbol, "G"])
    assert parse_chord(symbol) is None
    assert counter.unmapped[symbol] == 1 and counter.mapped["G"] == 1


def test_every_nottingham_symbol_but_blanks_maps(shared_data):
    counter = ChordCounter()
    for path in sorted((shared_data / "abc" / "nottingham").glob("*.abc")):
        for score in read_abc(path):
            counter.add(c.text for c in score.chord_symbols)
    assert sum(counter.mapped.values()) > 13000
    assert set(counter.unmapped) <= {" ", ""}, counter.summary()
    assert counter.mapping()["D/f+"] == "D" and counter.mapping()["A7/c+"] == "A7"


def test_one_chord_per_beat_in_compound_meter():
    (score,) = read_abc(TUNE)
    tok = HarmonyTokenizer()
    assert n_beats(score) == 4  # two bars of 6/8: two dotted-quarter beats each
    assert [c.name for c in chords_per_beat(score)] == ["G", "D7", "Em", "C"]
    assert tok.decode(tok.encode(score)) == chords_per_beat(score)
    melody = tok.encode_melody(score)
    assert [f[0] - 1 for f in melody] == [n.pitch for n in score.notes]
    assert [f[3] for f in melody] == [0, 0, 0, 1, 1, 2, 3]  # each note's beat
    assert tokenizer_from_dict(tok.to_dict()).vocab == tok.vocab


def test_upbeat_is_beat_zero_and_bars_start_on_beats():
    (score,) = read_abc('X:1\nM:4/4\nL:1/8\nK:D\nA|"D"d2 f2 a2 f2|"A7"e8|]\n')
    assert score.pickup == Fraction(1, 2)
    melody = HarmonyTokenizer().encode_melody(score)
    # the upbeat eighth sits in beat 0, the first bar's downbeat opens beat 1 at position 0
    assert melody[0][3] == 0 and melody[1][3] == 1 and melody[1][2] == 1
    assert [c and c.name for c in chords_per_beat(score)][:2] == [None, "D"]


def test_a_chordal_part_is_refused_with_its_name():
    (score,) = read_abc("X:1\nM:4/4\nL:1/4\nK:C\n[CEG][DFA][EGB][CEG]|]\n")
    with pytest.raises(HarmonyInputError, match="piano.mid: 100% of its onsets"):
        HarmonyTokenizer().encode_melody(score, "piano.mid")


def test_key_relative_moves_the_tonic_to_c_and_back():
    (score,) = read_abc(TUNE)  # G major: up 5 semitones (moves stay within -5 … +6)
    tok = HarmonyTokenizer(key_relative=True)
    assert tok.transposition(score) == 5
    assert [c.name for c in tok.decode(tok.encode(score))] == ["C", "G7", "Am", "F"]
    assert tok.chords(tok.encode(score), score) == chords_per_beat(score)
    melody = tok.encode_melody(score)
    assert [f[0] - 1 for f in melody] == [n.pitch + 5 for n in score.notes]
    assert tokenizer_from_dict(tok.to_dict()).transposition(score) == 5
    assert tokenizer_from_dict({"type": "harmony"}).key_relative is False  # older checkpoints


def test_key_relative_estimates_the_tonic_of_a_melody_without_a_key():
    (score,) = read_abc(
        'X:1\nM:4/4\nL:1/8\nK:G\n"G"G2 B2 d2 B2|"D7"A2 F2 D2 F2|"G"G2 B2 d2 g2|"D7"f2 d2 "G"g4|]\n'
    )
    unkeyed = replace(score, key=None)  # a MIDI melody with no key signature
    tok = HarmonyTokenizer(key_relative=True)
    assert tok.transposition(unkeyed) == 5  # Krumhansl-Schmuckler finds G
    assert [c.name for c in tok.decode(tok.encode(unkeyed))][:2] == ["C", "C"]
