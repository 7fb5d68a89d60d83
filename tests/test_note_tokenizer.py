"""NoteTokenizer: round trips up to the grid, determinism, JSON, robust decoding, transposition."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.music import Key, Note, Score, Tempo, TimeSignature
from musicgen.tokenizers import (
    NoteTokenizer,
    Tokenizer,
    config_hash,
    load_tokenizer,
    tokenizer_from_dict,
)

TOK = NoteTokenizer()
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TONICS = ["C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb"]
MODES = ["major", "minor", "dorian", "mixolydian", "phrygian", "lydian", "locrian", "ionian",
         "aeolian", "mix", "Dor", "m", ""]  # fmt: skip
# supported meters plus some that must map elsewhere (6/16, 11/8, 1/4, 16/4, 3/1)
METERS = [(2, 4), (3, 4), (4, 4), (6, 8), (9, 8), (12, 8), (5, 8), (7, 8), (2, 2), (3, 2),
          (6, 16), (11, 8), (1, 4), (16, 4), (3, 1)]  # fmt: skip

onsets = st.one_of(
    st.integers(0, 48 * 12).map(lambda k: Fraction(k, 12)),  # on the grid
    st.fractions(0, 48, max_denominator=97),  # anywhere, incl. quintuplets and ticks
)
# upbeats: none, on the grid, anywhere (incl. negative), and as long as a bar or longer
pickups = st.one_of(
    st.just(Fraction(0)),
    st.integers(1, 8 * 12).map(lambda k: Fraction(k, 12)),
    st.fractions(-1, 10, max_denominator=97),
)
durations = st.one_of(
    st.integers(1, 24).map(lambda k: Fraction(k, 4)), st.fractions(0, 12, max_denominator=50)
)


@st.composite
def notes(draw: st.DrawFn, drums: bool) -> Note:
    is_drum = drums and draw(st.booleans())
    return Note(
        pitch=draw(st.integers(0, 127)),
        start=draw(onsets),
        duration=draw(durations),
        velocity=draw(st.integers(1, 127)),
        program=draw(st.sampled_from([0, 0, 24, 40, 73])),
        is_drum=is_drum,
    )


@st.composite
def scores(draw: st.DrawFn, max_notes: int = 40) -> Score:
    """Random bounded scores: any meters, keys, tempos, programs, drums, fractional onsets,
    upbeats."""
    drums = draw(st.booleans())
    ts = draw(st.lists(st.tuples(onsets, st.sampled_from(METERS)), max_size=4))
    key = draw(st.none() | st.builds(Key, st.sampled_from(TONICS), st.sampled_from(MODES)))
    qpms = draw(st.lists(st.floats(10, 400), max_size=3))
    return Score(
        notes=draw(st.lists(notes(drums), max_size=max_notes)),
        time_signatures=[TimeSignature(t, n, d) for t, (n, d) in ts],
        tempos=[Tempo(Fraction(i * 4), q) for i, q in enumerate(qpms)],
        key=key,
        title=draw(st.text(max_size=5)),
        pickup=draw(pickups),
    )


def folk_tune() -> Score:
    """Two bars of a D major jig with a pickup-free start and one chord."""
    eighth = Fraction(1, 2)
    melody = [74, 73, 71, 69, 71, 73, 74, 76, 78, 79, 78, 76]
    ns = [Note(p, i * eighth, eighth) for i, p in enumerate(melody)]
    ns.append(Note(62, Fraction(0), Fraction(3)))
    return Score(ns, [TimeSignature(Fraction(0), 6, 8)], [Tempo(Fraction(0), 120.0)], Key("D"))


def test_default_vocab_is_sized_for_folk_and_piano():
    assert TOK.vocab_size == 668  # 3 specials, Bar, 15 meters, 105 keys, 32 tempi,
    # 129 programs, 96 positions (4/2 bar), 88 pitches, 8 velocities, 96 durations,
    # 95 pickups (1..95 steps), the last so that the older ids did not move
    assert len(set(TOK.vocab)) == TOK.vocab_size
    assert (TOK.pad_id, TOK.bos_id, TOK.eos_id) == (0, 1, 2)
    assert {"Pitch_60", "Key_D_mixolydian", "TimeSig_6/8", "Program_drum"} <= set(TOK.vocab)
    assert TOK.id_of("Duration_96") == 572 and TOK.vocab[573:] == [
        f"Pickup_{k}" for k in range(1, 96)
    ]
    assert isinstance(TOK, Tokenizer)


def test_folk_tune_tokens_read_like_remi():
    tokens = [TOK.token(i) for i in TOK.encode(folk_tune())]
    assert tokens[:7] == ["<bos>", "TimeSig_6/8", "Key_D_major", "Tempo_120", "Program_0",
                          "Bar", "Position_0"]  # fmt: skip
    # a chord: two notes at Position_0, the lower first, no Position between them
    assert tokens[7:13] == ["Pitch_62", "Velocity_79", "Duration_36", "Pitch_74",
                            "Velocity_79", "Duration_6"]  # fmt: skip
    assert tokens.count("Bar") == 2 and tokens[-1] == "<eos>"
    assert "Position_30" in tokens and "Position_36" not in tokens  # 6/8 bar = 36 steps


def pickup_jig() -> Score:
    """``M:6/8 L:1/8 K:D A|dfa afd|e2``: a one-eighth upbeat before two bars of a jig."""
    eighth = Fraction(1, 2)
    melody = [69, 74, 78, 81, 81, 78, 74, 76]
    ns = [Note(p, i * eighth, eighth) for i, p in enumerate(melody[:-1])]
    ns.append(Note(76, 7 * eighth, 2 * eighth))
    return Score(ns, [TimeSignature(Fraction(0), 6, 8)], key=Key("D"), pickup=eighth)


def test_pickup_notes_end_bar_zero_and_the_first_bar_line_follows_them():
    s = pickup_jig()
    tokens = [TOK.token(i) for i in TOK.encode(s)]
    assert tokens[:7] == ["<bos>", "TimeSig_6/8", "Key_D_major", "Pickup_6", "Program_0",
                          "Bar", "Position_30"]  # fmt: skip
    assert tokens[7] == "Pitch_69" and tokens[10:13] == ["Bar", "Position_0", "Pitch_74"]
    # the e2 opens the next bar line, 3 quarters after the first
    assert tokens.count("Bar") == 3 and tokens[tokens.index("Pitch_76") - 2] == "Bar"
    out = TOK.decode(TOK.encode(s))
    assert out.pickup == Fraction(1, 2) and out == TOK.quantize(s)
    assert out.notes == [replace(n, velocity=79) for n in s.notes]
    # no upbeat, or one as long as the bar, is no upbeat: the piece starts on a bar line
    for pickup in (Fraction(0), Fraction(3), Fraction(7, 2), Fraction(1, 100)):
        q = TOK.quantize(replace(s, pickup=pickup))
        assert q.pickup == 0 and "Pickup" not in " ".join(TOK.vocab[i] for i in TOK.encode(q))


def test_pickup_moves_meter_changes_with_the_bar_lines():
    # 3/4 upbeat of one quarter; 2/4 from score time 4 = the bar line 1 + 3 after it
    ts = [TimeSignature(Fraction(0), 3, 4), TimeSignature(Fraction(4), 2, 4),
          TimeSignature(Fraction(5), 3, 4)]  # fmt: skip
    s = Score([Note(60, Fraction(k), Fraction(1)) for k in range(10)], ts, pickup=Fraction(1))
    q = TOK.quantize(s)
    # the 3/4 change at 5 is inside the 2/4 bar 4..6 and waits for its end
    assert q.time_signatures == [TimeSignature(Fraction(0), 3, 4), ts[1],
                                 TimeSignature(Fraction(6), 3, 4)]  # fmt: skip
    tokens = [TOK.token(i) for i in TOK.encode(s)]
    assert tokens.count("Bar") == 5 and tokens[tokens.index("TimeSig_2/4") - 1] == "Bar"
    assert TOK.decode(TOK.encode(s)) == q


def test_decode_ignores_a_pickup_too_long_and_drops_notes_before_time_zero():
    bos, bar, eos = TOK.bos_id, TOK.id_of("Bar"), TOK.eos_id
    note = [TOK.id_of("Pitch_60"), TOK.id_of("Duration_12")]
    head = [bos, TOK.id_of("TimeSig_3/4"), TOK.id_of("Pickup_12")]  # 3/4 = 36 steps
    # off-grammar: a note at Position_0 of the first bar would start before time 0
    out = TOK.decode(head + [bar, TOK.id_of("Position_0"), *note,
                             TOK.id_of("Position_24"), *note, bar, eos])  # fmt: skip
    assert out.pickup == 1 and [(n.start, n.pitch) for n in out.notes] == [(0, 60)]
    assert TOK.quantize(out) == out
    # a TimeSig right after the first Bar sets the first bar, and so where the upbeat is
    out = TOK.decode(head + [bar, TOK.id_of("TimeSig_2/4"), TOK.id_of("Position_12"), *note])
    assert out.pickup == 1 and out.notes[0].start == 0
    assert out.time_signatures == [TimeSignature(Fraction(0), 2, 4)]
    # Pickup_48 is no upbeat in 4/4: ignored, the notes start at the first bar line
    out = TOK.decode([bos, TOK.id_of("Pickup_48"), bar, TOK.id_of("Position_0"), *note])
    assert out.pickup == 0 and out.notes[0].start == 0


def test_round_trip_of_grid_aligned_tune_is_exact_but_for_velocity_bins():
    s = folk_tune()
    out = TOK.decode(TOK.encode(s))
    assert out.notes == [replace(n, velocity=79) for n in s.notes]  # 80 falls in bin 79
    assert (out.time_signatures, out.tempos, out.key) == (s.time_signatures, s.tempos, s.key)


@PROPERTY
@given(scores())
def test_decode_encode_equals_quantize(s: Score):
    q = TOK.quantize(s)
    assert TOK.decode(TOK.encode(s)) == q
    assert TOK.quantize(q) == q
    assert TOK.encode(q) == TOK.encode(s)


@PROPERTY
@given(scores(), st.sampled_from([
    NoteTokenizer(use_velocity=False, use_programs=False),
    NoteTokenizer(steps_per_quarter=4, max_duration=4, time_signatures=["4/4", "3/4", "6/8"]),
]))  # fmt: skip
def test_round_trip_holds_for_other_settings(s: Score, tok: NoteTokenizer):
    q = tok.quantize(s)
    assert tok.decode(tok.encode(s)) == q
    assert tok.quantize(q) == q


@PROPERTY
@given(scores())
def test_quantize_keeps_what_it_promises(s: Score):
    q = TOK.quantize(s)
    assert all(21 <= n.pitch <= 108 for n in q.notes)
    assert all(n.start * 12 == int(n.start * 12) for n in q.notes)
    assert all(Fraction(1, 12) <= n.duration <= 8 for n in q.notes)
    assert len(set(q.notes)) == len(q.notes)
    kept = sum(21 <= n.pitch <= 108 for n in s.notes)
    assert len(q.notes) <= kept
    assert q.time_signatures[0].start == 0 and len(q.tempos) <= 1
    assert q.title == "" and q.chord_symbols == []
    assert 0 <= q.pickup < q.time_signatures[0].bar_length and (q.pickup * 12).denominator == 1
    assert all(n.start >= 0 for n in q.notes)


def test_notes_out_of_range_are_dropped_and_long_notes_cut():
    s = Score([Note(10, Fraction(0), Fraction(1)), Note(60, Fraction(1, 100), Fraction(20)),
               Note(61, Fraction(1), Fraction(0))])  # fmt: skip
    q = TOK.quantize(s)
    assert [(n.pitch, n.start, n.duration) for n in q.notes] == [
        (60, Fraction(0), Fraction(8)), (61, Fraction(1), Fraction(1, 12))
    ]  # fmt: skip
    assert q.time_signatures == [TimeSignature(Fraction(0), 4, 4)]


def test_meter_changes_land_on_bar_lines_and_unsupported_meters_map():
    ts = [TimeSignature(Fraction(0), 6, 16), TimeSignature(Fraction(2), 11, 8),
          TimeSignature(Fraction(50), 2, 4)]  # fmt: skip
    s = Score([Note(60, Fraction(k), Fraction(1)) for k in range(12)], ts)
    q = TOK.quantize(s)
    # 6/16 -> 3/8 (1.5 quarters): the change at 2 waits for the bar line at 3; 11/8 (5.5)
    # is as near 5/4 as 12/8, and the same denominator wins; the 2/4 change lies after
    # the last note's bar and is dropped.
    assert q.time_signatures[:2] == [TimeSignature(Fraction(0), 3, 8),
                                     TimeSignature(Fraction(3), 12, 8)]  # fmt: skip
    assert len(q.time_signatures) == 2
    assert TOK.decode(TOK.encode(s)) == q


def test_encoding_is_deterministic_and_json_round_trips(tmp_path):
    s = folk_tune()
    path = tmp_path / "tok.json"
    TOK.save(path)
    again = load_tokenizer(path)
    assert isinstance(again, NoteTokenizer) and NoteTokenizer.load(path).vocab == TOK.vocab
    assert again.vocab == TOK.vocab and again.encode(s) == TOK.encode(s) == TOK.encode(s)
    assert config_hash(again) == config_hash(TOK)
    d = json.loads(path.read_text())
    assert d["type"] == "note" and tokenizer_from_dict(d).to_dict() == TOK.to_dict()
    assert config_hash(NoteTokenizer(velocity_bins=16)) != config_hash(TOK)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-5, 700), max_size=200)
    | st.lists(st.integers(0, TOK.vocab_size - 1), max_size=400)
)
def test_decode_of_any_ids_gives_a_valid_score(ids: list[int]):
    s = TOK.decode(ids)
    assert isinstance(s, Score)
    assert all(21 <= n.pitch <= 108 and n.duration > 0 and 1 <= n.velocity <= 127
               for n in s.notes)  # fmt: skip
    assert TOK.quantize(s) == s  # decoding yields the canonical form
    assert TOK.decode(np.array(ids, dtype=np.int64)) == s


@PROPERTY
@given(scores(), st.integers(0, 1000))
def test_decode_of_truncated_or_padded_encoding_keeps_complete_notes(s: Score, cut: int):
    ids = TOK.encode(s)
    prefix = TOK.decode(ids[:cut])
    assert set(prefix.notes) <= set(TOK.quantize(s).notes)
    assert TOK.decode(ids + [TOK.pad_id] * 3) == TOK.decode(ids)
    assert TOK.decode(ids[:cut] + [TOK.pad_id, 10**9, -1]).notes == prefix.notes


@PROPERTY
@given(scores(), st.integers(-12, 12))
def test_transpose_ids_equals_encoding_the_transposed_score(s: Score, k: int):
    ids = np.array(TOK.encode(s), dtype=np.uint16)
    out = TOK.transpose_ids(ids, k)
    q = TOK.quantize(s)
    pitched = [n.pitch + k for n in q.notes if not n.is_drum]
    if any(not 21 <= p <= 108 for p in pitched):
        assert out is None
        return
    assert out is not None and out.dtype == ids.dtype
    assert out.tolist() == TOK.encode(q.transposed(k))
    # s itself, when the tokenizer drops no pitched note before or after the move and the
    # key needs no respelling (keys beyond 7 accidentals can tie the other way)
    in_range = all(21 <= min(n.pitch, n.pitch + k) <= max(n.pitch, n.pitch + k) <= 108
                   for n in s.notes if not n.is_drum)  # fmt: skip
    if in_range and (s.key is None or TOK.quantize(Score(key=s.key)).key == s.key):
        assert out.tolist() == TOK.encode(s.transposed(k))


def test_transpose_moves_key_and_keeps_drums():
    drum = Note(42, Fraction(0), Fraction(1, 4), is_drum=True)
    s = Score([drum, Note(40, Fraction(0), Fraction(1))], key=Key("Bb", "dorian"))
    out = TOK.decode(TOK.transpose_ids(TOK.encode(s), 5))
    assert out.key == Key("Eb", "dorian")
    assert {(n.pitch, n.is_drum) for n in out.notes} == {(42, True), (45, False)}
    assert TOK.transpose_ids(TOK.encode(s), 80) is None
