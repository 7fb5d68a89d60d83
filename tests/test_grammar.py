"""The note grammar: every encoding is accepted, and sampling inside it decodes cleanly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_note_tokenizer import TOK, folk_tune, pickup_jig, scores

from musicgen.tokenizers import GrammarError, NoteTokenizer

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRAMMAR = TOK.grammar


def assert_accepted(tok: NoteTokenizer, ids: list[int]) -> None:
    state = tok.grammar.initial
    for i, tid in enumerate(ids):
        mask = tok.grammar.allowed(state)
        assert mask[tid], f"{tok.token(tid)} at {i} not allowed after {state}"
        state = tok.grammar.step(state, tid)
    assert tok.grammar.allowed(state)[tok.eos_id]  # a full encoding may end here


@PROPERTY
@given(scores())
def test_every_encoding_is_accepted_token_by_token(s):
    assert_accepted(TOK, TOK.encode(s))


@PROPERTY
@given(scores())
def test_encodings_with_other_settings_are_accepted(s):
    for tok in (NoteTokenizer(use_velocity=False, use_programs=False),
                NoteTokenizer(steps_per_quarter=4, time_signatures=["4/4", "3/4"])):  # fmt: skip
        assert_accepted(tok, tok.encode(s))


def test_masks_forbid_pad_and_late_bos_and_positions_past_the_bar():
    ids = TOK.encode(folk_tune())  # 6/8: bars of 36 steps
    pad, bos = TOK.pad_id, TOK.bos_id
    state = GRAMMAR.initial
    assert GRAMMAR.allowed(state).sum() == 1 and GRAMMAR.allowed(state)[bos]
    for tid in ids[:-1]:
        state = GRAMMAR.step(state, tid)
        mask = GRAMMAR.allowed(state)
        assert not mask[pad] and not mask[bos]
        assert not mask[TOK.id_of("Position_36")]
    # after the last Duration: only later positions, another note, Bar or <eos>
    assert mask[TOK.eos_id] and mask[TOK.id_of("Bar")] and mask[TOK.id_of("Position_35")]
    assert not mask[TOK.id_of("Position_6")] and not mask[TOK.id_of("TimeSig_3/4")]
    with pytest.raises(GrammarError):
        GRAMMAR.step(state, TOK.id_of("Duration_3"))
    assert not GRAMMAR.accepts([bos, TOK.id_of("Bar"), TOK.id_of("Pitch_60")])
    assert not GRAMMAR.accepts([bos, TOK.id_of("Bar"), TOK.id_of("Key_D_major")])


def test_pickup_only_in_the_header_shorter_than_the_bar_and_fills_the_first_bar_end():
    ids = TOK.encode(pickup_jig())  # 6/8, Pickup_6: the first bar holds positions 30..35
    state = GRAMMAR.from_prefix(ids[:2])  # <bos> TimeSig_6/8
    mask = GRAMMAR.allowed(state)
    assert mask[TOK.id_of("Pickup_35")] and not mask[TOK.id_of("Pickup_36")]
    head = GRAMMAR.from_prefix(ids[:5])  # ... Pickup_6 Program_0
    assert not GRAMMAR.allowed(head)[TOK.id_of("Pickup_6")]  # not after Program
    first = GRAMMAR.step(head, TOK.id_of("Bar"))
    mask = GRAMMAR.allowed(first)
    assert mask[TOK.id_of("Position_30")] and not mask[TOK.id_of("Position_29")]
    after = GRAMMAR.step(first, TOK.id_of("Bar"))  # the second bar is a whole bar
    assert GRAMMAR.allowed(after)[TOK.id_of("Position_0")]
    # a new meter right after the first Bar moves the upbeat to the end of its bar
    to_3_4 = GRAMMAR.step(first, TOK.id_of("TimeSig_3/4"))
    mask = GRAMMAR.allowed(to_3_4)
    assert mask[TOK.id_of("Position_30")] and not mask[TOK.id_of("Position_29")]
    to_2_4 = GRAMMAR.allowed(GRAMMAR.step(first, TOK.id_of("TimeSig_2/4")))
    assert to_2_4[TOK.id_of("Position_18")] and not to_2_4[TOK.id_of("Position_17")]
    after = GRAMMAR.step(GRAMMAR.step(to_3_4, TOK.id_of("Position_30")), TOK.id_of("Pitch_60"))
    assert after.pickup == 0  # the state forgets the upbeat once the bar is under way
    assert not GRAMMAR.accepts([TOK.bos_id, TOK.id_of("Bar"), TOK.id_of("Pickup_6")])
    assert not GRAMMAR.accepts([TOK.bos_id, TOK.id_of("Pickup_6"), TOK.id_of("Tempo_120")])


def test_eos_not_allowed_mid_note_and_a_finished_row_only_repeats_eos():
    prefix = [TOK.bos_id, TOK.id_of("Bar"), TOK.id_of("Position_0"), TOK.id_of("Pitch_60")]
    assert not GRAMMAR.allowed(GRAMMAR.from_prefix(prefix))[TOK.eos_id]
    done = GRAMMAR.from_prefix([TOK.bos_id, TOK.eos_id])
    assert GRAMMAR.allowed(done).nonzero()[0].tolist() == [TOK.eos_id]


def test_a_part_needing_a_note_cannot_end_or_skip_its_first_bar_before_one():
    note = [TOK.id_of("Position_0"), TOK.id_of("Pitch_60")]
    for kind in ("Velocity", "Duration"):
        note.append(TOK.id_of(next(t for t in TOK.vocab if t.startswith(kind))))
    bar, eos = TOK.id_of("Bar"), TOK.eos_id
    state = GRAMMAR.needing_note(GRAMMAR.from_prefix([TOK.bos_id]))
    assert not GRAMMAR.allowed(state)[eos] and GRAMMAR.allowed(state)[bar]  # header: Bar ok
    state = GRAMMAR.step(state, bar)
    assert not GRAMMAR.allowed(state)[eos] and not GRAMMAR.allowed(state)[bar]  # empty bar
    for tid in note[:-1]:
        state = GRAMMAR.step(state, tid)
        assert not GRAMMAR.allowed(state)[eos]
    state = GRAMMAR.step(state, note[-1])  # the note is complete: it may end, or go on
    assert GRAMMAR.allowed(state)[eos] and GRAMMAR.allowed(state)[bar]
    state = GRAMMAR.step(state, bar)
    assert GRAMMAR.allowed(state)[bar] and GRAMMAR.allowed(state)[eos]  # empty bars: fine
    # the same tokens without needing_note are as the corpus encodes them
    assert GRAMMAR.allowed(GRAMMAR.from_prefix([TOK.bos_id]))[eos]
    done = GRAMMAR.from_prefix([TOK.bos_id, eos])
    assert GRAMMAR.needing_note(done) == done  # a finished row keeps its one choice


def test_batch_masks_stack_per_state():
    states = [GRAMMAR.initial, GRAMMAR.from_prefix(TOK.encode(folk_tune())[:9])]
    masks = GRAMMAR.allowed_batch(states)
    assert masks.shape == (2, TOK.vocab_size) and masks.dtype == bool
    assert (masks[1] == GRAMMAR.allowed(states[1])).all()


def random_walk(tok: NoteTokenizer, rng: np.random.Generator, steps: int) -> list[int]:
    """Sample uniformly among allowed ids, as a constrained sampler with flat logits would."""
    state, ids = tok.grammar.initial, []
    for _ in range(steps):
        tid = int(rng.choice(np.flatnonzero(tok.grammar.allowed(state))))
        ids.append(tid)
        state = tok.grammar.step(state, tid)
        if tid == tok.eos_id:
            break
    return ids


@pytest.mark.parametrize("tok", [TOK, NoteTokenizer(use_velocity=False, use_programs=False)])
def test_random_walks_decode_without_losing_notes(tok):
    rng = np.random.default_rng(0)
    durations = {i for i, t in enumerate(tok.vocab) if t.startswith("Duration_")}
    pickups = 0
    for _ in range(60):
        walk = random_walk(tok, rng, 400)
        s = tok.decode(walk)
        pickups += s.pickup > 0
        # each Duration the walk wrote closes one note; only exact duplicates merge
        written = sum(tid in durations for tid in walk)
        assert len(s.notes) <= written and (written == 0 or s.notes)
        again = tok.encode(s)
        assert_accepted(tok, again)
        assert tok.decode(again) == s and tok.encode(tok.decode(again)) == again
    assert pickups >= 5  # the walks do try upbeats


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_walk_notes_all_survive_decoding(seed):
    tok, rng = TOK, np.random.default_rng(seed)
    walk = random_walk(tok, rng, 300)
    notes = set()
    for end in range(1, len(walk) + 1):  # the note a Duration closes appears in the decode
        if tok.token(walk[end - 1]).startswith("Duration_"):
            grown = set(tok.decode(walk[:end]).notes) - notes
            assert len(grown) <= 1  # the new note (or nothing new: an exact duplicate)
            notes |= grown
    assert set(tok.decode(walk).notes) == notes
    # and none fell before time 0: without its Pickup the walk decodes as many notes
    plain = [tid for tid in walk if not tok.token(tid).startswith("Pickup_")]
    assert len(tok.decode(plain).notes) == len(notes)
