"""Prompts: loading and cutting real ABC and MIDI files, range fitting, joining."""

from __future__ import annotations

import os
from fractions import Fraction as F

import pytest

from musicgen.data.sources import music21_corpus_dir
from musicgen.generation.prompt import (
    PromptError,
    fit_to_range,
    join_continuation,
    load_prompt,
    prompt_end,
)
from musicgen.music import Note, Score, Tempo, TimeSignature, read_midi, write_midi

HILDEBRAND = music21_corpus_dir() / "essenFolksong" / "altdeu10.abc"

# 3/4 at 60 qpm (one quarter per second); the F is tied over the bar line into bar 3.
TIED_TUNE = "X:1\nT:Cut\nM:3/4\nL:1/4\nQ:1/4=60\nK:C\nC D E | F3- | F G A | B3 |]\n"


def _notes(score: Score) -> list[tuple]:
    return [(n.pitch, n.start, n.duration) for n in score.notes]


@pytest.fixture
def tied_abc(tmp_path):
    path = tmp_path / "tied.abc"
    path.write_text(TIED_TUNE)
    return path


@pytest.fixture
def tempo_midi(tmp_path):
    """4/4, 120 qpm for bar 1 then 60 qpm; a long note from beat 3 over the bar line."""
    notes = [Note(60 + i, F(i), F(1), velocity=90, program=40) for i in range(12)]
    notes.append(Note(48, F(2), F(6), velocity=70, program=40))
    score = Score(
        notes=notes,
        time_signatures=[TimeSignature(F(0), 4, 4)],
        tempos=[Tempo(F(0), 120.0), Tempo(F(4), 60.0)],
        title="Tempo test",
    )
    return write_midi(score, tmp_path / "tempo.mid")


def test_abc_with_pickup_cut_to_bars_counts_the_pickup_as_bar_zero():
    # altdeu10 "Das Hildebrandslied": M:4/2, a half-note pickup G2, then | _B2B2c2c2 | d4d4
    prompt = load_prompt(HILDEBRAND, prompt_bars=2)
    assert prompt.title == "Das Hildebrandslied"
    assert [n.pitch for n in prompt.notes] == [67, 70, 70, 72, 72, 74, 74]
    assert prompt.end == 18 == prompt_end(prompt)  # pickup 2 + two bars of 8 quarters
    assert _notes(load_prompt(HILDEBRAND, prompt_bars=1))[-1] == (72, F(8), F(2))


def test_abc_cut_truncates_a_tied_note_at_the_bar_line(tied_abc):
    prompt = load_prompt(tied_abc, prompt_bars=2)
    assert _notes(prompt) == [(60, 0, 1), (62, 1, 1), (64, 2, 1), (65, 3, 3)]
    whole = load_prompt(tied_abc)
    assert (65, 3, 4) in _notes(whole) and len(whole.notes) == 7


def test_abc_cut_to_seconds(tied_abc):
    prompt = load_prompt(tied_abc, prompt_seconds=4.5)  # 60 qpm: 4.5 quarters
    assert _notes(prompt) == [(60, 0, 1), (62, 1, 1), (64, 2, 1), (65, 3, F(3, 2))]
    assert prompt_end(prompt) == 6  # the continuation starts on the next bar line


def test_midi_cut_to_bars_and_seconds_follows_the_tempo_map(tempo_midi):
    bar = load_prompt(tempo_midi, prompt_bars=1)
    assert _notes(bar) == [(60, 0, 1), (61, 1, 1), (48, 2, 2), (62, 2, 1), (63, 3, 1)]
    assert {n.program for n in bar.notes} == {40}
    # 4 quarters at 120 qpm take 2 s, then 1 s at 60 qpm is one more quarter: cut at 5
    secs = load_prompt(tempo_midi, prompt_seconds=3)
    assert _notes(secs) == [(60, 0, 1), (61, 1, 1), (48, 2, 3), (62, 2, 1), (63, 3, 1), (64, 4, 1)]
    assert [t.qpm for t in secs.tempos] == [120.0, 60.0]
    assert prompt_end(secs) == 8


def test_abc_book_skips_unreadable_tunes(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text("X:1\nT:Bad\nM:4/4\nL:1/8\nGA abc d2|\n\n" + TIED_TUNE.replace("X:1", "X:2"))
    assert load_prompt(path).title == "Cut"


def _error(path, **kwargs) -> str:
    with pytest.raises(PromptError) as info:
        load_prompt(path, **kwargs)
    message = str(info.value)
    assert os.fspath(path) in message and "\n" not in message
    return message


def test_bad_prompt_files_give_one_clear_line(tmp_path):
    corrupt = tmp_path / "noise.mid"
    corrupt.write_bytes(bytes(range(256)) * 4)
    assert "not a readable MIDI file" in _error(corrupt)
    garbage = tmp_path / "garbage.abc"
    garbage.write_text("this is not\nan ABC tune at all\n")
    assert "no readable ABC tune" in _error(garbage)
    assert "no such file" in _error(tmp_path / "missing.mid")
    text = tmp_path / "notes.txt"
    text.write_text("C D E")
    assert "unknown prompt format '.txt'" in _error(text)


def test_bad_prompt_lengths(tmp_path, tied_abc):
    assert "not both" in _error(tied_abc, prompt_bars=1, prompt_seconds=1.0)
    assert "at least 1" in _error(tied_abc, prompt_bars=0)
    rest_first = tmp_path / "rest.abc"
    rest_first.write_text("X:1\nM:3/4\nL:1/4\nK:C\nz3 | C D E |]\n")
    assert "no notes in the first 1 bar" in _error(rest_first, prompt_bars=1)


def test_fit_to_range_transposes_by_octaves_when_the_part_fits():
    score = Score([Note(12, F(0), F(1)), Note(30, F(1), F(1)), Note(35, F(2), F(1), is_drum=True)])
    fitted, warnings = fit_to_range(score, 21, 108)
    assert [n.pitch for n in fitted.notes] == [24, 42, 35]  # the drum note stays at 35
    assert len(warnings) == 1 and "transposed +1 octave" in warnings[0]
    high = Score([Note(100, F(0), F(1)), Note(115, F(1), F(1))])
    assert [n.pitch for n in fit_to_range(high, 21, 108)[0].notes] == [88, 103]


def test_fit_to_range_clips_outliers_when_the_part_is_too_wide():
    score = Score([Note(10, F(0), F(1)), Note(60, F(1), F(1)), Note(115, F(2), F(1))])
    fitted, warnings = fit_to_range(score, 21, 108)
    assert [n.pitch for n in fitted.notes] == [22, 60, 103]
    assert len(warnings) == 1 and "moved 2 note(s)" in warnings[0]


def test_fit_to_range_leaves_a_fitting_prompt_alone():
    score = Score([Note(60, F(0), F(1))])
    assert fit_to_range(score, 21, 108) == (score, [])


def test_join_keeps_the_prompt_and_starts_the_continuation_at_the_prompt_end(tempo_midi, tmp_path):
    prompt = load_prompt(tempo_midi, prompt_seconds=3)  # ends in mid-bar 2: continue at 8
    continuation = Score([Note(67, F(0), F(1)), Note(69, F(1, 2), F(2), velocity=50)])
    joined = join_continuation(prompt, continuation)
    assert joined.notes[: len(prompt.notes)] == prompt.notes
    added = joined.notes[len(prompt.notes) :]
    assert [(n.pitch, n.start, n.velocity) for n in added] == [(67, 8, 80), (69, F(17, 2), 50)]
    assert {n.program for n in added} == {40}  # the violin prompt's program, not piano
    assert joined.tempos == prompt.tempos and joined.time_signatures == prompt.time_signatures
    assert joined.title == "Tempo test"
    back = read_midi(write_midi(joined, tmp_path / "joined.mid"))
    assert _notes(back)[: len(prompt.notes)] == _notes(prompt)
    assert [t.qpm for t in back.tempos] == [120.0, 60.0]


def test_join_keeps_continuation_programs_of_a_multi_program_prompt():
    prompt = Score([Note(60, F(0), F(4), program=0), Note(48, F(0), F(4), program=32)])
    continuation = Score([Note(62, F(0), F(1), program=32), Note(64, F(0), F(1), program=0)])
    joined = join_continuation(prompt, continuation)
    assert [(n.pitch, n.start, n.program) for n in joined.notes[2:]] == [(62, 4, 32), (64, 4, 0)]


def test_join_with_pickup_starts_on_a_bar_line():
    prompt = load_prompt(HILDEBRAND, prompt_bars=1)
    joined = join_continuation(prompt, Score([Note(67, F(0), F(2))]))
    assert joined.pickup == 2 and joined.notes[-1].start == 10


def test_an_abc_prompt_is_played_with_its_repeats(tmp_path):
    path = tmp_path / "repeat.abc"
    path.write_text("X:1\nT:R\nM:2/4\nL:1/4\nK:C\n|: C D :| E F |]\n")
    assert [n.pitch for n in load_prompt(path).notes] == [60, 62, 60, 62, 64, 65]
