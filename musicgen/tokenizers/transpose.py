"""Transposition of note-token sequences at the id level, for data augmentation.

One lookup table per interval moves every Pitch token and every Key token at once, so
augmenting a batch costs one numpy gather instead of a decode/encode round trip.
"""

from __future__ import annotations

import numpy as np

from musicgen.tokenizers.vocab import DRUM, KEY, PITCH, PROGRAM, NoteVocab


def transpose_table(v: NoteVocab, semitones: int) -> np.ndarray:
    """``table[id]`` is the id after transposing by ``semitones``; -1 where a pitch leaves
    the tokenizer's range. Ids other than Pitch and Key map to themselves."""
    table = np.arange(len(v), dtype=np.int64)
    lo, hi = v.settings.pitch_range
    for tid in np.flatnonzero(v.kinds == PITCH):
        p = int(v.values[tid]) + semitones
        table[tid] = v.id(PITCH, p) if lo <= p <= hi else -1
    for tid in np.flatnonzero(v.kinds == KEY):
        table[tid] = v.id(KEY, v.keys[int(v.values[tid])].transposed(semitones))
    return table


def transpose_ids(v: NoteVocab, table: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """Apply ``table`` to the ids of one encoded score, leaving drum notes where they are.

    A drum note is a Pitch right after ``Program_drum`` (several programs) or any Pitch of a
    score whose only program is drums. Returns None when a pitched note would leave the range.

    Raises:
        ValueError: if ``ids`` holds ids outside the vocabulary.
    """
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= len(v)):
        raise ValueError("transpose_ids got ids outside the vocabulary")
    out = table[ids]
    if v.settings.use_programs:
        drum_id = v.id(PROGRAM, DRUM)
        is_pitch = v.kinds[ids] == PITCH
        programs = ids[v.kinds[ids] == PROGRAM]
        if programs.size and (programs == drum_id).all():
            drum = is_pitch
        else:
            drum = is_pitch & (np.concatenate([[-1], ids[:-1]]) == drum_id)
        out[drum] = ids[drum]
    if (out < 0).any():
        return None
    return out.astype(ids.dtype, copy=False)
