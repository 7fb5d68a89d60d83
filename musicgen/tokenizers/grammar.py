"""The note-token grammar as a small state machine, for constrained sampling.

A sampler keeps one :class:`GrammarState` per sequence, asks :meth:`NoteGrammar.allowed`
for a boolean mask over the vocabulary (cached per state, so a step costs a dict lookup),
masks the logits with it, and advances with :meth:`NoteGrammar.step`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from musicgen.tokenizers.vocab import (
    BAR,
    BOS_K,
    DURATION,
    EOS_K,
    KEY,
    PICKUP,
    PITCH,
    POSITION,
    PROGRAM,
    TEMPO,
    TIMESIG,
    VELOCITY,
    NoteVocab,
)  # fmt: skip

# Phases: where in the sequence the last token left us.
START, HEAD, HEAD_TS, HEAD_KEY, HEAD_TEMPO, HEAD_PICKUP, HEAD_PROG = range(7)
BAR_OPEN, BAR_TS, AT_POS, NOTE_PROG, NOTE_PITCH, NOTE_VEL, NOTE_DONE, DONE = range(7, 15)

_HEAD_ORDER = {
    TIMESIG: HEAD_TS, KEY: HEAD_KEY, TEMPO: HEAD_TEMPO, PICKUP: HEAD_PICKUP, PROGRAM: HEAD_PROG
}  # fmt: skip
# Kinds allowed in each phase; Position, Pickup and header Program are limited by value.
_NEXT = {
    START: {BOS_K},
    HEAD: {TIMESIG, KEY, TEMPO, PICKUP, PROGRAM, BAR, EOS_K},
    HEAD_TS: {KEY, TEMPO, PICKUP, PROGRAM, BAR, EOS_K},
    HEAD_KEY: {TEMPO, PICKUP, PROGRAM, BAR, EOS_K},
    HEAD_TEMPO: {PICKUP, PROGRAM, BAR, EOS_K},
    HEAD_PICKUP: {PROGRAM, BAR, EOS_K},
    HEAD_PROG: {PROGRAM, BAR, EOS_K},
    BAR_OPEN: {TIMESIG, POSITION, BAR, EOS_K},
    BAR_TS: {POSITION, BAR, EOS_K},
    AT_POS: {PITCH},  # or PROGRAM, with several programs
    NOTE_PROG: {PITCH},
    NOTE_PITCH: {VELOCITY},  # or DURATION, without velocity tokens
    NOTE_VEL: {DURATION},
    NOTE_DONE: {POSITION, PITCH, BAR, EOS_K},  # PITCH becomes PROGRAM with several programs
    DONE: {EOS_K},
}


class GrammarState(NamedTuple):
    """Where a sequence stands: phase, current bar length (steps), last position (or, in
    the header, last program), how many header programs were declared (capped at 2), and
    the declared upbeat in steps until the first bar's notes begin (0 after, or none),
    and whether a note must come before ``<eos>`` (see :meth:`NoteGrammar.needing_note`)."""

    phase: int
    bar_steps: int
    last: int
    programs: int
    pickup: int = 0
    needs_note: bool = False


class GrammarError(ValueError):
    """A token id that the grammar does not allow in the current state."""


class NoteGrammar:
    """Which note tokens may follow which, over token kinds.

    ==================  ==========================================================
    after               allowed next
    ==================  ==========================================================
    (nothing)           ``<bos>``
    ``<bos>``           TimeSig, Key, Tempo, Pickup, Program, Bar, ``<eos>``
    TimeSig (header)    Key, Tempo, Pickup, Program, Bar, ``<eos>``
    Key                 Tempo, Pickup, Program, Bar, ``<eos>``
    Tempo               Pickup, Program, Bar, ``<eos>``
    Pickup              Program, Bar, ``<eos>``
    Program (header)    a higher Program, Bar, ``<eos>``
    Bar                 TimeSig, Position, Bar, ``<eos>``
    TimeSig (after Bar) Position, Bar, ``<eos>``
    Position            Program if the header declared 2+ programs, else Pitch
    Program (note)      Pitch
    Pitch               Velocity if velocities are tokenized, else Duration
    Velocity            Duration
    Duration            a later Position inside the bar, Program/Pitch (chord), Bar,
                        ``<eos>``
    ``<eos>``           ``<eos>`` (so a finished row of a batch always has a choice)
    ==================  ==========================================================

    Positions are ``< bar length`` of the meter in force (header TimeSig, else 4/4, or a
    TimeSig right after Bar) and strictly increase within a bar. ``<pad>`` is never allowed.
    ``Pickup_k`` needs ``0 < k <`` the header's bar length; then the first bar holds only
    the upbeat, positions ``>= bar - k`` (with ``bar`` from a TimeSig right after that first
    Bar if there is one, and no limit when ``k >= bar``), because the decoder drops notes
    that would fall before time 0.

    A state from :meth:`needing_note` (the sampler starts every generated part from one)
    also forbids ``<eos>`` until the next note's Duration, and a second Bar while the bar
    it opened is still empty: a sample always holds a new note in its first new bar.
    """

    def __init__(self, vocab: NoteVocab) -> None:
        self.vocab = vocab
        s = vocab.settings
        self.kinds, self.values = vocab.kinds, vocab.values
        self.default_bar = s.bar_steps((4, 4))
        self.velocity = s.use_velocity
        self._kind_masks = {k: self.kinds == k for k in range(int(self.kinds.max()) + 1)}
        self._cache: dict[GrammarState, np.ndarray] = {}

    @property
    def initial(self) -> GrammarState:
        """The state before any token (only ``<bos>`` may come)."""
        return GrammarState(START, self.default_bar, -1, 0)

    def next_kinds(self, state: GrammarState) -> set[int]:
        kinds = set(_NEXT[state.phase])
        multi = state.programs >= 2
        if state.phase == AT_POS and multi:
            kinds = {PROGRAM}
        elif state.phase == NOTE_PITCH and not self.velocity:
            kinds = {DURATION}
        elif state.phase == NOTE_DONE and multi:
            kinds = (kinds - {PITCH}) | {PROGRAM}
        return kinds

    def allowed(self, state: GrammarState) -> np.ndarray:
        """Boolean mask of shape ``(vocab_size,)``: True where the id may come next.

        The array is cached and shared: do not write into it.
        """
        mask = self._cache.get(state)
        if mask is None:
            mask = self._build(state)
            mask.flags.writeable = False
            self._cache[state] = mask
        return mask

    def _build(self, state: GrammarState) -> np.ndarray:
        mask = np.zeros(len(self.kinds), dtype=bool)
        for kind in self.next_kinds(state):
            mask |= self._kind_masks[kind]
        if state.phase in (BAR_OPEN, BAR_TS, NOTE_DONE):
            too_far = (self.values >= state.bar_steps) | (self.values <= state.last)
            mask &= ~(self._kind_masks[POSITION] & too_far)
        if state.phase == HEAD_PROG:
            mask &= ~(self._kind_masks[PROGRAM] & (self.values <= state.last))
        if state.phase < HEAD_PICKUP:
            mask &= ~(self._kind_masks[PICKUP] & (self.values >= state.bar_steps))
        if state.needs_note:
            mask &= ~self._kind_masks[EOS_K]
            if state.phase in (BAR_OPEN, BAR_TS):  # the open bar is still empty
                mask &= ~self._kind_masks[BAR]
        return mask

    def needing_note(self, state: GrammarState) -> GrammarState:
        """``state``, from which ``<eos>`` is forbidden until a note (its Duration) comes.

        Why: an untrained or briefly trained model puts much of its mass on ``<eos>`` and
        on empty bars, and a sample without notes is no music at all. A finished sequence
        (after ``<eos>``) is returned unchanged, since ``<eos>`` is all that may follow it.
        """
        return state if state.phase == DONE else state._replace(needs_note=True)

    def allowed_batch(self, states: Sequence[GrammarState]) -> np.ndarray:
        """Masks of shape ``(len(states), vocab_size)`` for a batch of sequences."""
        return np.stack([self.allowed(st) for st in states])

    def step(self, state: GrammarState, token_id: int) -> GrammarState:
        """The state after ``token_id``.

        Raises:
            GrammarError: if ``token_id`` is not allowed in ``state``.
        """
        tid = int(token_id)
        if not 0 <= tid < len(self.kinds) or not self.allowed(state)[tid]:
            raise GrammarError(f"token {tid} not allowed in state {state}")
        nxt = self._next_state(state, tid)
        if state.needs_note and int(self.kinds[tid]) != DURATION:
            return nxt._replace(needs_note=True)
        return nxt

    def _next_state(self, state: GrammarState, tid: int) -> GrammarState:
        """The state after an allowed ``tid``, with ``needs_note`` cleared."""
        kind, value = int(self.kinds[tid]), int(self.values[tid])
        phase, bar, last, progs, pickup, _ = state
        if kind == BOS_K:
            return GrammarState(HEAD, bar, -1, 0)
        if kind == EOS_K:
            return state._replace(phase=DONE, needs_note=False)
        if kind == BAR:
            # the first bar ends where the upbeat begins: bar - pickup steps in
            first = bar - pickup - 1 if phase < BAR_OPEN and pickup else -1
            return GrammarState(BAR_OPEN, bar, first, progs, pickup if first >= 0 else 0)
        if phase < BAR_OPEN:  # header
            if kind == TIMESIG:
                bar = value
            elif kind == PROGRAM:
                last, progs = value, min(progs + 1, 2)
            elif kind == PICKUP:
                pickup = value
            return GrammarState(_HEAD_ORDER[kind], bar, last, progs, pickup)
        if kind == TIMESIG:  # the first bar's new length moves the upbeat's start with it
            first = value - pickup - 1 if 0 < pickup < value else -1
            return GrammarState(BAR_TS, value, first, progs)
        if kind == POSITION:
            return GrammarState(AT_POS, bar, value, progs)
        nxt = {PROGRAM: NOTE_PROG, PITCH: NOTE_PITCH, VELOCITY: NOTE_VEL, DURATION: NOTE_DONE}
        return GrammarState(nxt[kind], bar, last, progs)

    def from_prefix(self, ids: Iterable[int]) -> GrammarState:
        """The state after a whole prefix (e.g. a prompt), which must start with ``<bos>``.

        Raises:
            GrammarError: at the first token the grammar does not allow.
        """
        state = self.initial
        for tid in ids:
            state = self.step(state, tid)
        return state

    def accepts(self, ids: Iterable[int]) -> bool:
        """True when every token of ``ids`` is allowed where it stands (a valid prefix)."""
        try:
            self.from_prefix(ids)
        except GrammarError:
            return False
        return True
