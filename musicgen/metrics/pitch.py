"""Pitch metrics of one score: how much of it is in key, its key, its range and density."""

from __future__ import annotations

from fractions import Fraction

# key finding lives with the scores (the harmony tokenizer needs it); exported from here too
from musicgen.music.keys import NoPitchedNotesError, estimate_key
from musicgen.music.score import MODE_FIFTHS, Key, Note, Score, tonic_pitch_class

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)  # the major (ionian) scale, semitones above its tonic
MINOR_MODES = ("minor", "aeolian")


def pitched(score: Score) -> list[Note]:
    """The score's non-drum notes."""
    return [n for n in score.notes if not n.is_drum]


def _pitched_or_raise(score: Score, what: str) -> list[Note]:
    notes = pitched(score)
    if not notes:
        raise NoPitchedNotesError(f"{what}: score {score.title!r} has no pitched notes")
    return notes


def scale_pitch_classes(tonic_pc: int, mode: str) -> frozenset[int]:
    """Pitch classes counted as in key for a tonic (0-11) and a mode.

    Definition: the seven notes of the mode (any of ``MODE_FIFTHS``: major/ionian, minor/
    aeolian, dorian, mixolydian, phrygian, lydian, locrian; an unknown mode counts as
    major). For minor (natural minor, aeolian) the raised 6th and 7th of the melodic and
    harmonic minor are in key too: a folk tune in E minor with D# leading notes is not out
    of key. No other mode gets extra notes.
    """
    ionian = (tonic_pc - 7 * MODE_FIFTHS.get(mode, 0)) % 12
    pcs = {(ionian + step) % 12 for step in MAJOR_STEPS}
    if mode in MINOR_MODES:
        pcs |= {(tonic_pc + 9) % 12, (tonic_pc + 11) % 12}
    return frozenset(pcs)


def in_key_ratio(score: Score, key: Key | None = None) -> float:
    """Share of the pitched notes whose pitch class is in the key's scale.

    Definition: the key is ``key``, else ``score.key``, else :func:`estimate_key`; the
    scale is :func:`scale_pitch_classes`. Every note counts once, whatever its length.

    Raises:
        NoPitchedNotesError: for a score without pitched notes.
    """
    notes = _pitched_or_raise(score, "in_key_ratio")
    key = key or score.key
    if key is not None:
        scale = scale_pitch_classes(tonic_pitch_class(key.tonic), key.mode)
    else:
        scale = scale_pitch_classes(*estimate_key(score))
    return sum(n.pitch % 12 in scale for n in notes) / len(notes)


def pitch_range(score: Score) -> int:
    """Highest minus lowest pitch of the pitched notes, in semitones.

    Raises:
        NoPitchedNotesError: for a score without pitched notes.
    """
    pitches = [n.pitch for n in _pitched_or_raise(score, "pitch_range")]
    return max(pitches) - min(pitches)


def note_density(score: Score) -> float:
    """Pitched notes per quarter note: their number over the time from 0 to the last end.

    Per quarter note rather than per bar, so that tunes in different meters compare (a
    reel of running eighths gives 2.0; a chord counts each of its notes).

    Raises:
        NoPitchedNotesError: for a score without pitched notes, or whose notes all
            have no length at time 0.
    """
    notes = _pitched_or_raise(score, "note_density")
    end = max(n.end for n in notes)
    if end <= 0:
        raise NoPitchedNotesError(f"note_density: score {score.title!r} lasts no time")
    return len(notes) / float(Fraction(end))
