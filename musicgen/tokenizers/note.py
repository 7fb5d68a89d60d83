"""``NoteTokenizer``: REMI-style note tokens (Huang & Yang 2020) for ``Score`` objects."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.music.score import Score
from musicgen.tokenizers import codec, quantize, transpose
from musicgen.tokenizers.base import load_tokenizer, register_tokenizer, save_tokenizer
from musicgen.tokenizers.grammar import NoteGrammar
from musicgen.tokenizers.vocab import (
    BOS_K,
    DEFAULT_TIME_SIGNATURES,
    EOS_K,
    PAD_K,
    NoteSettings,
    NoteVocab,
)


@register_tokenizer("note")
class NoteTokenizer:
    """Score <-> ids with a REMI vocabulary of ``Type_Value`` tokens.

    A sequence is ``<bos>``, a header (``TimeSig_3/4``, ``Key_D_major``, ``Tempo_120``,
    ``Pickup_k`` for an upbeat of k grid steps, ``Program_p`` for each program used), then
    per bar ``Bar`` [``TimeSig`` when the meter changes] and the bar's notes:
    ``Position_k`` when the onset moves (k grid steps into the bar), [``Program_p`` when the
    header lists several], ``Pitch_p``, [``Velocity_v``], ``Duration_d`` (grid steps); then
    ``<eos>``. Rests are implicit, a chord is several
    notes at one Position, an empty bar is a bare ``Bar``; with an upbeat the first bar
    holds only the upbeat, at its end (from ``Position_{bar - k}``). See
    :class:`NoteGrammar`.

    What is lost is exactly :meth:`quantize`: ``decode(encode(s)) == quantize(s)``.

    Args:
        steps_per_quarter: grid resolution; 12 holds sixteenths and eighth triplets.
        pitch_range: lowest and highest MIDI pitch with a token; others are dropped.
        max_duration: longest duration in quarter notes; longer notes are cut to it.
        use_velocity: write a Velocity token per note (else every note gets velocity 80).
        velocity_bins: number of velocity levels, evenly over 1-127.
        tempo_bins: number of tempo levels, geometric over ``tempo_range``.
        tempo_range: slowest and fastest tempo bin in quarter notes per minute.
        time_signatures: meters with a token ("6/8"); others map to the nearest one.
        use_programs: write Program tokens (else drums are dropped, programs become 0).
    """

    def __init__(
        self,
        steps_per_quarter: int = 12,
        pitch_range: tuple[int, int] = (21, 108),
        max_duration: int = 8,
        use_velocity: bool = True,
        velocity_bins: int = 8,
        tempo_bins: int = 32,
        tempo_range: tuple[float, float] = (40.0, 250.0),
        time_signatures: Sequence[str] = DEFAULT_TIME_SIGNATURES,
        use_programs: bool = True,
    ) -> None:
        self.settings = NoteSettings(
            steps_per_quarter, tuple(pitch_range), max_duration, use_velocity, velocity_bins,
            tempo_bins, tuple(tempo_range), tuple(time_signatures), use_programs,
        )  # fmt: skip
        self._vocab = NoteVocab(self.settings)
        self.grammar = NoteGrammar(self._vocab)
        self._tables: dict[int, np.ndarray] = {}

    kind = "notes"  # encodes a Score; samples become MIDI

    # -- protocol -----------------------------------------------------------------------
    @property
    def vocab(self) -> list[str]:
        return list(self._vocab.tokens)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def pad_id(self) -> int:
        return self._vocab.id(PAD_K, 0)

    @property
    def bos_id(self) -> int:
        return self._vocab.id(BOS_K, 0)

    @property
    def eos_id(self) -> int:
        return self._vocab.id(EOS_K, 0)

    def encode(self, score: Score) -> list[int]:
        """Token ids of ``score`` (deterministic; ``quantize`` first, then serialise).

        Raises:
            ScoreLimitError: for a score longer than ``musicgen.music.limits``'s
                ``MAX_SPAN_QUARTERS``.
        """
        return codec.encode_ids(self.quantize(score), self._vocab)

    def decode(self, ids: Sequence[int] | np.ndarray) -> Score:
        """The score of ``ids``; never raises. Out-of-vocabulary ids, pads and tokens out of
        place are skipped, notes missing a Bar, Position, Pitch or Duration are dropped, and
        decoding stops at the first ``<eos>``. The result is already quantized."""
        return codec.decode_ids(ids, self._vocab)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "note", **self.settings.to_dict(), "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoteTokenizer:
        s = NoteSettings.from_dict(d)
        tok = cls(**s.to_dict())
        if "vocab" in d and d["vocab"] != tok.vocab:
            raise ValueError("saved vocabulary differs from the one its settings build")
        return tok

    def save(self, path: str | Path) -> None:
        save_tokenizer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> NoteTokenizer:
        return load_tokenizer(path, expect=cls)

    # -- note specifics -----------------------------------------------------------------
    def quantize(self, score: Score) -> Score:
        """The score exactly as the tokenizer keeps it.

        - onsets and durations round half-up to the grid; a note keeps at least one step
          and at most ``max_duration`` quarter notes;
        - pitches outside ``pitch_range`` are dropped (clipping would invent wrong notes);
        - velocities snap to the nearest bin (80 for all when ``use_velocity`` is off);
        - drum notes get program 0; without ``use_programs`` drums are dropped and every
          program becomes 0;
        - notes made identical by rounding are kept once;
        - meters map to the nearest supported one; a meter change moves to the first bar
          line at or after it, repeats and changes after the last note's bar are dropped,
          and the meter at time 0 is always stated (4/4 when the score has none);
        - ``pickup`` rounds to the grid and becomes 0 unless it is shorter than the first
          bar; bar lines fall at ``pickup`` and every bar after it; notes before time 0
          move to 0;
        - only the first tempo is kept, binned, at time 0; keys fold onto 7 modes and
          signatures of at most 7 accidentals;
        - the title and chord symbols are not tokenized.
        """
        return quantize.quantize(score, self.settings)

    def transpose_ids(self, ids: np.ndarray | Sequence[int], semitones: int) -> np.ndarray | None:
        """``encode(score.transposed(semitones))`` computed from ``encode(score)`` ids.

        Pitch tokens move (drum notes stay), Key tokens move as ``Key.transposed`` does;
        all other tokens (Pickup included) stay.
        Returns None when a pitched note would leave ``pitch_range``.
        """
        if semitones not in self._tables:
            self._tables[semitones] = transpose.transpose_table(self._vocab, semitones)
        return transpose.transpose_ids(self._vocab, self._tables[semitones], np.asarray(ids))

    def token(self, token_id: int) -> str:
        return self._vocab.tokens[token_id]

    def id_of(self, token: str) -> int:
        """The id of a token string such as ``"Pitch_60"``.

        Raises:
            KeyError: if the vocabulary has no such token.
        """
        return self._vocab.index[token]
