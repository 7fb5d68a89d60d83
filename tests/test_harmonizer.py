"""Encoder–decoder harmonisers: causality, cached decoding, beam search, the loss, alignment."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import torch

from musicgen.data.pairs import collate_pairs
from musicgen.generation.seq2seq_decode import beam_search, decode, greedy_batch
from musicgen.models import LstmHarmonizer, TransformerHarmonizer
from musicgen.music import ChordSymbol, Note, Score
from musicgen.tokenizers import HarmonyTokenizer
from musicgen.tokenizers.chords import parse_chord
from musicgen.training.seq2seq_module import Seq2SeqModel

TOK = HarmonyTokenizer(max_beats=64)
CHORDS = [parse_chord(c) for c in ("C", "F", "G", "Am", "Dm", "Em")]


def tiny(kind: str):
    torch.manual_seed(0)
    if kind == "lstm":
        return LstmHarmonizer(TOK.vocab_size, 32, 32, 32, dropout=0.0, max_beats=64)
    return TransformerHarmonizer(TOK.vocab_size, 32, 2, 1, 2, dropout=0.0, max_beats=64)


def synthetic_tune(rng: random.Random, bars: int = 4) -> Score:
    """Per 4/4 bar one chord, and four quarter notes drawn from its tones: the notes decide it."""
    notes, symbols = [], []
    for bar in range(bars):
        chord = rng.choice(CHORDS)
        symbols.append(ChordSymbol(Fraction(4 * bar), chord.name))
        tones = sorted(chord.pitch_classes)
        for beat in range(4):
            notes.append(Note(60 + rng.choice(tones), Fraction(4 * bar + beat), Fraction(1)))
    return Score(notes=notes, chord_symbols=symbols)


def batch(n: int, seed: int):
    rng = random.Random(seed)
    tunes = [synthetic_tune(rng) for _ in range(n)]
    return collate_pairs([(TOK.encode_melody(t), TOK.encode(t)) for t in tunes])


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_decoder_shapes_and_causality(kind):
    model = tiny(kind).eval()
    src, tgt, _ = batch(2, 0)
    logits, state = model(src, tgt, need_weights=True)
    assert logits.shape == (2, 16, TOK.vocab_size)
    assert state.attention.shape == (2, 16, src.size(1))
    assert torch.allclose(state.attention.sum(-1), torch.ones(2, 16))
    changed = tgt.clone()
    changed[:, 9] = 5
    other, _ = model(src, changed)
    assert torch.allclose(other[:, :9], logits[:, :9], atol=1e-5)  # the past is untouched
    assert not torch.allclose(other[:, 9:], logits[:, 9:])  # and the change is seen


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_cached_decoding_equals_full_decoding(kind):
    model = tiny(kind).eval()
    src, tgt, _ = batch(3, 1)
    full, _ = model(src, tgt)
    state, parts = None, []
    for chunk in (tgt[:, :1], tgt[:, 1:6], *tgt[:, 6:].split(1, dim=1)):
        logits, state = model(src, chunk, state)
        parts.append(logits)
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_beam_width_one_is_greedy(kind):
    model = tiny(kind).eval()
    src = batch(1, 2)[0]
    greedy = decode(model, src, 16, TOK.bos_id, (0, 1, 2))
    beam = beam_search(model, src, 16, TOK.bos_id, (0, 1, 2), beam_width=1)
    assert beam.ids == greedy.ids
    assert torch.allclose(beam.attention, greedy.attention, atol=1e-6)
    wide = beam_search(model, src, 16, TOK.bos_id, (0, 1, 2), beam_width=4)
    assert len(wide.ids) == 16 and min(wide.ids) >= 3  # no special token is ever chosen


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_batched_greedy_decoding_equals_greedy_decoding_of_each_melody(kind):
    model = tiny(kind).eval()
    src = batch(3, 4)[0]
    together = greedy_batch(model, src, 16, TOK.bos_id, (0, 1, 2))
    for row in range(3):
        alone = decode(model, src[row : row + 1], 16, TOK.bos_id, (0, 1, 2))
        assert together[row].tolist() == alone.ids


def test_label_smoothing_changes_the_training_loss_not_the_validation_nll():
    b = batch(4, 3)
    plain, smooth = (
        Seq2SeqModel(tiny("transformer")),
        Seq2SeqModel(tiny("transformer"), label_smoothing=0.2),
    )
    assert not torch.isclose(plain._step(b, 0.0)[0], smooth._step(b, smooth.label_smoothing)[0])
    for module in (plain, smooth):
        module.eval()
        module.validation_step(b, 0)
    assert torch.isclose(plain.val_nll.compute(), smooth.val_nll.compute())


def test_input_dropout_feeds_pad_in_training_and_the_real_chords_in_validation():
    b = batch(4, 3)
    fed = []
    model = tiny("lstm")
    model.register_forward_pre_hook(lambda _, args: fed.append(args[1].clone()))
    module = Seq2SeqModel(model, input_dropout=0.5)
    module.train()
    module._step(b, 0.0)
    dropped = (fed[-1] == 0) & (b[1] != 0)
    assert (fed[-1][:, 0] == TOK.bos_id).all()  # <bos> is never dropped
    assert 0.3 < dropped[:, 1:].float().mean() < 0.7  # about half of the chords
    assert ((fed[-1] == b[1]) | dropped).all()  # the others are the real ones
    module.eval()
    first = len(fed)
    module.validation_step(b, 0)  # teacher forced, then greedy decoding
    assert torch.equal(fed[first], b[1])


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_attention_falls_on_the_notes_of_its_own_bar(kind, one_torch_thread):
    torch.manual_seed(0)  # one decoder layer: its cross-attention is the whole alignment
    model = (
        LstmHarmonizer(TOK.vocab_size, 32, 32, 32, dropout=0.0, max_beats=64)
        if kind == "lstm"
        else TransformerHarmonizer(TOK.vocab_size, 32, 2, 1, 1, dropout=0.0, max_beats=64)
    )
    module = Seq2SeqModel(model)
    before = own_bar_mass(model.eval())  # the beat-distance prior alone
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    # the additive attention's tanh must learn a bump around each beat: it takes longer
    for step in range(300 if kind == "lstm" else 150):
        loss, count, _ = module._step(batch(16, 100 + step), 0.0)
        opt.zero_grad()
        (loss / count).backward()
        opt.step()
    mass, accuracy = own_bar_mass(model.eval()), own_bar_mass(model, accuracy=True)
    print(f"{kind}: own-bar attention mass {before:.2f} untrained, {mass:.2f} trained")
    # mostly on its own bar, and more than the prior alone put there (measured: LSTM 0.84 ->
    # 0.95, Transformer 0.76 -> 0.81, its second head's prior being broad)
    assert mass > max(0.75, before + 0.03), f"own-bar attention mass {before:.2f} -> {mass:.2f}"
    assert accuracy > 0.8  # and the chords are learnt


@torch.no_grad()
def own_bar_mass(model, accuracy: bool = False) -> float:
    """The mean attention mass of each chord step on the notes of its own bar (or, with
    ``accuracy``, the share of chords predicted right) on eight held-out synthetic tunes."""
    src, tgt, out = batch(8, 7)
    logits, state = model(src, tgt, need_weights=True)
    if accuracy:
        return float((logits.argmax(-1) == out).float().mean())
    note_bar = src[..., 3] // 4  # (B, S): the bar of each note
    step_bar = torch.arange(16) // 4  # (T,)
    own = (note_bar[:, None, :] == step_bar[None, :, None]).float()  # (B, T, S)
    return float((state.attention * own).sum(-1).mean())


def test_length_buckets_share_one_shuffled_order_between_ranks():
    """Training batches of similar lengths; under DDP two ranks split one order: disjoint
    batches covering every tune, as many on each rank (DDP waits for every rank)."""
    from musicgen.data.pairs import LengthBuckets

    lengths = [random.Random(i).randrange(4, 400) for i in range(50)]

    def batches(pool: int, rank: int = 0, world: int = 1) -> list[list[int]]:
        sampler = LengthBuckets(lengths, 4, torch.Generator().manual_seed(3), pool, rank, world)
        out = list(sampler)
        assert len(out) == len(sampler)
        return out

    alone = batches(8)
    assert sorted(i for b in alone for i in b) == list(range(50)) and len(alone) == 13
    spread = lambda bs: sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in bs)  # noqa: E731
    assert spread(alone) < spread(batches(1)) / 2  # bucketing pads far less than plain batches
    r0, r1 = batches(8, 0, 2), batches(8, 1, 2)
    assert len(r0) == len(r1) == 7  # 13 batches: rank 1's 7th wraps around to the first
    assert r0 == alone[0::2] and r1 == [*alone[1::2], alone[0]]  # the same order, shared


def test_sampling_at_temperature_zero_is_greedy_and_a_negative_one_is_refused():
    model = tiny("lstm").eval()
    src = batch(1, 2)[0]
    greedy = decode(model, src, 16, TOK.bos_id, (0, 1, 2))
    cold = decode(model, src, 16, TOK.bos_id, (0, 1, 2), method="sample", temperature=0.0)
    assert cold.ids == greedy.ids  # not a crash in torch.multinomial on nan probabilities
    with pytest.raises(ValueError, match="temperature"):
        decode(model, src, 16, TOK.bos_id, (0, 1, 2), method="sample", temperature=-1.0)
