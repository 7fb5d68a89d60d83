"""The sampler on both backbones: greedy, seeds, cache vs. no cache, sliding window, stops."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from musicgen.generation.sampler import (
    StopAfterBars,
    StopAfterSeconds,
    expand_state,
    generate,
    window_start,
)
from musicgen.models import RecurrentLM, TransformerLM
from musicgen.tokenizers import GrammarError, NoteTokenizer

VOCAB = 23
BACKBONES = ["lstm", "transformer"]
PROMPT = [1, 5, 7, 2]


def make(name: str, vocab: int = VOCAB, max_len: int = 128) -> nn.Module:
    """A tiny random model; untrained is fine, the sampler only needs logits."""
    torch.manual_seed(0)
    if name == "lstm":
        return RecurrentLM(vocab, embed_dim=16, hidden_dim=24, num_layers=2).eval()
    return TransformerLM(vocab, d_model=32, n_layers=2, n_heads=4, max_len=max_len, dropout=0.0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("how", [{"top_k": 1}, {"temperature": 0.0}])
def test_greedy_equals_argmax_of_full_passes(name: str, how: dict) -> None:
    model = make(name)
    out = generate(model, PROMPT, max_new_tokens=20, n_samples=2, **how)
    ids = list(PROMPT)
    with torch.no_grad():
        for _ in range(20):
            logits, _ = model(torch.tensor([ids]))
            ids.append(int(logits[0, -1].argmax()))
    assert out == [ids[len(PROMPT) :]] * 2


@pytest.mark.parametrize("name", BACKBONES)
def test_same_seed_same_samples_other_seed_differs(name: str) -> None:
    model = make(name)
    a = generate(model, PROMPT, max_new_tokens=30, n_samples=4, seed=7)
    b = generate(model, PROMPT, max_new_tokens=30, n_samples=4, seed=7)
    c = generate(model, PROMPT, max_new_tokens=30, n_samples=4, seed=8)
    assert a == b
    assert a != c
    assert len({tuple(row) for row in a}) > 1  # the rows of one batch are distinct samples


@pytest.mark.parametrize("name", BACKBONES)
def test_cache_gives_the_same_tokens_as_recomputing(name: str) -> None:
    model = make(name)
    kwargs = dict(max_new_tokens=40, n_samples=3, seed=3, top_p=0.95, repetition_penalty=1.3)
    cached = generate(model, PROMPT, use_cache=True, **kwargs)
    recomputed = generate(model, PROMPT, use_cache=False, **kwargs)
    assert cached == recomputed
    assert all(len(row) == 40 for row in cached)


@pytest.mark.parametrize("name", ["lstm", "gru", "transformer"])
def test_expanded_state_continues_every_row(name: str) -> None:
    # the sampler prefills the prompt once and copies the state to the N rows
    model = make(name) if name != "gru" else RecurrentLM(VOCAB, cell="gru", num_layers=2).eval()
    prompt = torch.tensor([PROMPT])
    steps = torch.tensor([[3], [8], [3]])
    with torch.no_grad():
        _, state = model(prompt)
        logits, _ = model(steps, expand_state(state, 3))
        for row in range(3):
            full, _ = model(torch.cat([prompt, steps[row : row + 1]], dim=1))
            torch.testing.assert_close(logits[row, 0], full[0, -1], atol=1e-5, rtol=1e-5)


def test_window_start_slides_by_half_a_window() -> None:
    assert window_start(0, 16, 16) == 0  # fits
    assert window_start(0, 17, 16) == 9  # the last 8 tokens
    assert window_start(9, 25, 16) == 9
    assert window_start(9, 26, 16) == 18
    assert window_start(0, 10_000, None) == 0  # recurrent: no window


@pytest.mark.parametrize("pos", ["sinusoidal", "rotary"])
def test_transformer_slides_past_its_context_window(pos: str) -> None:
    torch.manual_seed(0)
    model = TransformerLM(VOCAB, d_model=32, n_layers=2, n_heads=4, max_len=16, dropout=0.0,
                          pos_encoding=pos)  # fmt: skip
    long_prompt = list(range(20))  # longer than the window too
    for prompt in (PROMPT, long_prompt):
        kwargs = dict(max_new_tokens=50, n_samples=2, seed=1)
        cached = generate(model.eval(), prompt, use_cache=True, **kwargs)
        recomputed = generate(model, prompt, use_cache=False, **kwargs)
        assert cached == recomputed
        assert [len(row) for row in cached] == [50, 50]


def test_model_mode_is_restored() -> None:
    model = make("lstm").train()
    generate(model, PROMPT, max_new_tokens=2)
    assert model.training


class FixedLogits(nn.Module):
    """A stand-in model whose next-token logits are always `bias`."""

    max_len = None

    def __init__(self, bias: torch.Tensor) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias)

    def forward(self, ids: torch.Tensor, state=None):
        return self.bias.expand(*ids.shape, -1), state


@pytest.fixture(scope="module")
def tok() -> NoteTokenizer:
    return NoteTokenizer()


def favouring(tok: NoteTokenizer, token: str) -> FixedLogits:
    bias = torch.zeros(tok.vocab_size)
    bias[tok.id_of(token)] = 20.0
    return FixedLogits(bias)


def test_eos_ends_a_row_and_is_kept(tok: NoteTokenizer) -> None:
    out = generate(favouring(tok, "<eos>"), [tok.bos_id], max_new_tokens=10, n_samples=3,
                   eos_id=tok.eos_id)  # fmt: skip
    assert out == [[tok.eos_id]] * 3


def test_min_new_tokens_keeps_a_row_from_ending_before_them(tok: NoteTokenizer) -> None:
    """A model that wants to stop at once (a text model ending the prompt's line) still
    adds ``min_new_tokens`` tokens first, then ends at its <eos>."""
    out = generate(favouring(tok, "<eos>"), [tok.bos_id], max_new_tokens=10, n_samples=3,
                   eos_id=tok.eos_id, min_new_tokens=2, seed=0)  # fmt: skip
    for row in out:
        assert len(row) == 3 and tok.eos_id not in row[:2] and row[2] == tok.eos_id, row
    # with the grammar too: both masks hold
    out = generate(favouring(tok, "<eos>"), [tok.bos_id], max_new_tokens=40, n_samples=2,
                   grammar=tok.grammar, eos_id=tok.eos_id, min_new_tokens=1)  # fmt: skip
    assert all(row[-1] == tok.eos_id and tok.eos_id not in row[:-1] for row in out)


def test_with_the_grammar_a_model_that_wants_to_stop_still_writes_a_note(tok) -> None:
    out = generate(favouring(tok, "<eos>"), [tok.bos_id], max_new_tokens=40, n_samples=3,
                   grammar=tok.grammar, eos_id=tok.eos_id)  # fmt: skip
    for row in out:
        assert row[-1] == tok.eos_id and tok.eos_id not in row[:-1]  # it ends at its <eos>
        assert len(tok.decode([tok.bos_id, *row]).notes) == 1  # after one note, not before


@pytest.mark.parametrize("n", [0, 1, 3])
def test_stop_after_bars(tok: NoteTokenizer, n: int) -> None:
    stop = StopAfterBars.for_tokenizer(tok, n)
    # a prompt that ends inside a bar: that bar is finished, then n new bars follow
    note = [next(t for t in tok.vocab if t.startswith(kind)) for kind in ("Velocity", "Duration")]
    inside = [tok.id_of(t) for t in ("<bos>", "Bar", "Position_0", "Pitch_60", *note)]
    # no grammar here: it would put a note in the first new bar (the test below)
    out = generate(favouring(tok, "Bar"), inside, max_new_tokens=50, n_samples=2,
                   stop=stop)  # fmt: skip
    assert out == [[tok.id_of("Bar")] * n] * 2
    # a prompt that ends by opening an empty bar (a continuation's prompt): that bar is the
    # first of the n new ones
    opened = [tok.bos_id, tok.id_of("Bar")]
    out = generate(favouring(tok, "Bar"), opened, max_new_tokens=50, n_samples=2,
                   stop=stop)  # fmt: skip
    assert out == [[tok.id_of("Bar")] * max(n - 1, 0)] * 2
    assert stop.bars == 0  # the criterion given is copied per row, never changed


def test_stop_after_seconds(tok: NoteTokenizer) -> None:
    # 4/4 at 120 qpm: a bar lasts 2 s; the prompt's bar starts at 0 s, new ones at 2, 4, 6 s
    prompt = [tok.id_of(t) for t in ("<bos>", "TimeSig_4/4", "Tempo_120", "Bar")]
    stop = StopAfterSeconds(tok, 5.0)
    out = generate(favouring(tok, "Bar"), prompt, max_new_tokens=50, stop=stop)
    assert out == [[tok.id_of("Bar")] * 2]


@pytest.mark.parametrize("prompt", [["<bos>"], ["<bos>", "Bar"]])
def test_with_the_grammar_the_first_new_bar_holds_a_note(tok, prompt: list[str]) -> None:
    # a model that only wants bar lines: a new piece, and a continuation's opened bar
    ids = [tok.id_of(t) for t in prompt]
    stop = StopAfterBars.for_tokenizer(tok, 3)
    out = generate(favouring(tok, "Bar"), ids, max_new_tokens=50, n_samples=2,
                   grammar=tok.grammar, stop=stop)  # fmt: skip
    for row in out:
        assert tok.grammar.accepts(ids + row)
        (note,) = tok.decode(ids + row).notes  # one note, then only bar lines
        assert note.start < 4  # in the first bar (4/4), not after empty bars
        assert (ids + row).count(tok.id_of("Bar")) == 3  # still 3 bars in all


def test_an_invalid_prompt_is_refused_with_the_place(tok: NoteTokenizer) -> None:
    model = make("transformer", vocab=tok.vocab_size)
    bad = [tok.bos_id, tok.id_of("Pitch_60")]
    with pytest.raises(GrammarError, match="token 1"):
        generate(model, bad, max_new_tokens=3, grammar=tok.grammar)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_new_tokens": 0}, {"temperature": -1}, {"top_p": 0.0}, {"top_k": 0}, {"n_samples": 0}],
)
def test_bad_arguments_raise(kwargs: dict) -> None:
    args = {"max_new_tokens": 3, **kwargs}
    with pytest.raises(ValueError):
        generate(make("lstm"), PROMPT, **args)
    with pytest.raises(ValueError, match="empty"):
        generate(make("lstm"), [], max_new_tokens=3)
