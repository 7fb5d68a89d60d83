"""Melody/chord pairs from MIDI files: chord recognition, the pair reader, the data module."""

from __future__ import annotations

import subprocess
import sys

import pytest
from midi_pair_files import BEAT_CHORDS, write_pair

from musicgen.data.midi_pairs import read_midi_pair
from musicgen.music import MusicFormatError
from musicgen.music.abc.reader import iter_abc_tunes
from musicgen.tokenizers.chords import ChordCounter, chord_of_pitches
from musicgen.tokenizers.harmony import chords_per_beat


def names(chords) -> list[str | None]:
    return [c.name if c is not None else None for c in chords]


@pytest.mark.parametrize(
    ("pitches", "name"),
    [((43, 47, 50), "G"), ((50, 55, 59), "G"), ((38, 42, 45, 48), "D7"), ((40, 43, 47), "Em"),
     ((45, 48, 52, 55), "Am7"), ((43, 47, 50, 54), "Gmaj7"), ((47, 50, 53), "Bdim"),
     ((36, 40, 44), "Caug"), ((40, 44, 48), "Eaug"), ((43, 48, 50), "Gsus"),
     ((36, 40, 43, 45), "C"), ((38, 41, 45, 47), "Dm"), ((47, 50, 53, 57), "Bdim"),
     ((40, 44, 47, 50, 53), "E7"), ((60,), None), ((48, 50), None), ((), None),
     ((60, 61, 62, 63, 64, 65, 66), None)],
)  # fmt: skip
def test_sounding_notes_name_the_chord_a_lead_sheet_would(pitches, name):
    chord = chord_of_pitches(pitches)
    assert (chord.name if chord else None) == name


def test_a_pair_reads_as_the_melody_with_one_chord_per_beat(tmp_path):
    score = read_midi_pair(write_pair(tmp_path))
    assert score.pickup == 1  # the leading three beats of rest are cut: beat 0 is the upbeat
    assert score.notes[0].start == 0 and score.notes[0].pitch == 74
    assert all(n.pitch >= 67 for n in score.notes)  # the melody only, no chord tones
    assert names(chords_per_beat(score)) == BEAT_CHORDS
    counter = ChordCounter()
    counter.add(c.text for c in score.chord_symbols)
    assert dict(counter.unmapped) == {"{C,D}": 1}  # the notes no chord names are recorded
    assert counter.mapping() == {"C": "C", "D7": "D7", "Em": "Em", "G": "G"}


def test_a_melody_without_its_chord_file_is_one_clear_error(tmp_path):
    melody = write_pair(tmp_path)
    (tmp_path / "chords" / melody.name).unlink()
    with pytest.raises(MusicFormatError, match=r"tune1\.mid: no chord file .*chords"):
        read_midi_pair(melody)


def test_the_pair_reader_imports_no_torch():
    code = "import sys, musicgen.data.midi_pairs; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_data_module_serves_midi_pairs_split_by_tune(tmp_path):
    from musicgen.data.pairs import HarmonyDataModule

    for k in range(10):  # ten tunes with different notes
        write_pair(tmp_path, f"tune{k}", shift=k)
    write_pair(tmp_path, "copy", shift=3)  # the same notes as tune3 under another name
    (tmp_path / "chords" / write_pair(tmp_path, "lone", shift=11).name).unlink()
    data = HarmonyDataModule(str(tmp_path / "melody"), source="midi", val_fraction=0.2,
                             test_fraction=0.2)  # fmt: skip
    data.setup()
    assert len(data.pairs) == 10
    assert any("lone.mid: no chord file" in s for s in data.skipped)
    assert any("a duplicate" in s for s in data.skipped)
    src, tgt = data.pairs[0]
    assert len(src) == 13  # one feature tuple per melody note
    assert len(tgt) == 1 + len(BEAT_CHORDS)  # <bos> and a chord per beat
    assert sum(data.chords.unmapped.values()) == 10  # one unnameable {C,D}-like pair per tune
    splits = [set(data.splits[s].tolist()) for s in ("train", "val", "test")]
    assert set.union(*splits) == set(range(10)) and sum(map(len, splits)) == 10
    batch = next(iter(data.train_dataloader()))
    assert batch[0].shape[0] == min(16, len(splits[0]))


def test_an_unknown_pair_source_is_refused():
    from musicgen.data.pairs import HarmonyDataModule

    with pytest.raises(ValueError, match="unknown pair source 'wav'"):
        HarmonyDataModule("x", source="wav")


@pytest.mark.slow  # reads 1,000 MIDI files and 14 tune books: about 40 s
def test_midi_chords_agree_with_the_abc_chord_symbols_of_the_same_tunes(shared_data):
    """Per beat, the chords read off the MIDI chord files against the ABC symbols.

    ``<book><n>.mid`` is tune ``X:n`` of ``<book>.abc``, played with its repeats (the ABC is
    read with ``expand_repeats``). Only tunes whose two readings have the same number of
    beats are compared (the others repeat differently: no beat-by-beat alignment), over the
    beats the ABC gives a chord. Measured: 0.9887 of 41,324 beats, in 397 tunes.
    """
    midi = shared_data / "midi" / "nottingham"
    agree = total = tunes = 0
    for book in sorted((shared_data / "abc" / "nottingham").glob("*.abc")):
        for text, abc in iter_abc_tunes(book, expand_repeats=True, warnings=[]):
            melody = midi / "melody" / f"{book.stem}{text.number}.mid"
            if isinstance(abc, MusicFormatError) or not (midi / "chords" / melody.name).is_file():
                continue
            ours, theirs = chords_per_beat(read_midi_pair(melody)), chords_per_beat(abc)
            if len(ours) != len(theirs):
                continue
            tunes += 1
            agree += sum(a == b for a, b in zip(ours, theirs, strict=True) if b is not None)
            total += sum(b is not None for b in theirs)
    print(f"MIDI chords agree with the ABC symbols on {agree / total:.4f} of {total} beats"
          f" in {tunes} tunes")  # fmt: skip
    assert tunes >= 350
    assert agree / total >= 0.97
