"""Melody/chord pairs from MIDI: ``melody/X.mid`` beside ``chords/X.mid``. Never imports torch.

The Nottingham MIDI corpus (Jukedeck's rendering) keeps each tune's melody and its chord
accompaniment in two files of the same name, in sibling folders ``melody/`` and
``chords/``. :func:`read_midi_pair` reads both and returns the melody as a
:class:`~musicgen.music.Score` whose ``chord_symbols`` are the chord track's chords, one at
each onset of the chord track, named in the project's chord vocabulary
(:func:`~musicgen.tokenizers.chords.chord_of_pitches`): from there the pair is tokenised
exactly as an ABC tune with chord symbols is. Sounding notes no vocabulary chord fits
become a symbol that spells their pitch classes (``{C,D}``), which the vocabulary leaves
unmapped and :class:`~musicgen.tokenizers.chords.ChordCounter` records, as it records the
ABC symbols it cannot read.

MIDI files start on a bar line, so an upbeat is a bar that opens with rests. Whole beats
of silence before the melody's first note are cut and the rest of that bar becomes the
score's ``pickup``: beat 0 then holds the upbeat, as it does for the same tune read from
ABC, and the two readings of a tune count their beats alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from musicgen.music import ChordSymbol, MusicFormatError, Score, read_midi
from musicgen.tokenizers.chords import chord_of_pitches, pitch_class_spelling
from musicgen.tokenizers.harmony import beat_length

CHORDS_FOLDER = "chords"  # the sibling folder of the melody files that holds the chords


def chord_file(melody: Path) -> Path:
    """``…/melody/X.mid`` → ``…/chords/X.mid``."""
    return melody.parent.parent / CHORDS_FOLDER / melody.name


def chord_symbols_of(chords: Score) -> list[ChordSymbol]:
    """One symbol per onset of a chord track: the vocabulary chord of the notes sounding then.

    A note held from an earlier onset counts as sounding. Unmappable notes give a symbol
    spelling their pitch classes (``{C,D}``), which ``parse_chord`` leaves unmapped.
    """
    notes = [n for n in chords.notes if not n.is_drum and n.duration > 0]
    out = []
    for t in sorted({n.start for n in notes}):
        pitches = [n.pitch for n in notes if n.start <= t < n.start + n.duration]
        chord = chord_of_pitches(pitches)
        out.append(ChordSymbol(t, chord.name if chord else pitch_class_spelling(pitches)))
    return out


def without_leading_rest(score: Score) -> Score:
    """``score`` with the whole beats before its first note cut, its first bar a pickup.

    Assumes the file starts on a bar line (MIDI files do) and that the cut holds no meter
    change other than at time 0.
    """
    if not score.notes:
        return score
    beat = beat_length(score)
    cut = math.floor(score.notes[0].start / beat) * beat
    if cut == 0:
        return score
    bar = score.time_signature_at(Fraction(0)).bar_length
    return replace(
        score,
        notes=[replace(n, start=n.start - cut) for n in score.notes],
        time_signatures=_moved(score.time_signatures or [score.time_signature_at(cut)], cut),
        tempos=_moved(score.tempos, cut),
        chord_symbols=[replace(c, start=c.start - cut) for c in score.chord_symbols
                       if c.start >= cut],  # fmt: skip
        pickup=(-cut) % bar,
    )


def _moved(changes: list, cut: Fraction) -> list:
    """A map of changes (meters, tempos) timed from ``cut``: the one in force there at 0."""
    before = [c for c in changes if c.start <= cut][-1:]
    return [replace(c, start=max(c.start - cut, Fraction(0))) for c in before] + [
        replace(c, start=c.start - cut) for c in changes if c.start > cut
    ]


def read_midi_pair(melody: Path, chords: Path | None = None) -> Score:
    """The melody of ``melody`` with the chords of ``chords`` (default: :func:`chord_file`).

    Raises:
        MusicFormatError: when either file cannot be read, or the chord file is missing;
            the message names the file.
    """
    chords = chord_file(melody) if chords is None else chords
    if not chords.is_file():
        raise MusicFormatError(f"{melody}: no chord file {chords}")
    score = read_midi(melody)
    score = replace(score, chord_symbols=chord_symbols_of(read_midi(chords)))
    return without_leading_rest(score)


def iter_midi_pairs(paths: Sequence[Path], skipped: list[str]) -> Iterator[tuple[Score, str]]:
    """``(score, "X.mid")`` for each readable pair; the others are recorded in ``skipped``."""
    for path in paths:
        try:
            yield read_midi_pair(path), path.name
        except MusicFormatError as err:  # the reader's message names the file
            skipped.append(str(err))
