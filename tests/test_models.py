"""Properties every backbone must have: shapes, causality, cached decoding, dropout, learning."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from musicgen.models import (
    ContextLengthError,
    KVCache,
    RecurrentLM,
    TransformerLM,
    build_model,
    num_parameters,
)

VOCAB = 17
MAX_LEN = 32
BACKBONES = [
    "lstm",
    "gru",
    "rnn",
    "transformer-sinusoidal",
    "transformer-learned",
    "transformer-rotary",
]


def make(name: str, **overrides: Any) -> nn.Module:
    """A tiny model of the named kind, in eval mode, seeded."""
    torch.manual_seed(0)
    if name.startswith("transformer"):
        kwargs = dict(d_model=32, n_layers=2, n_heads=4, max_len=MAX_LEN, dropout=0.0)
        kwargs["pos_encoding"] = name.split("-")[1]
        model = TransformerLM(VOCAB, **{**kwargs, **overrides})
    else:
        kwargs = dict(embed_dim=16, hidden_dim=24, num_layers=2, cell=name, dropout=0.0)
        model = RecurrentLM(VOCAB, **{**kwargs, **overrides})
    return model.eval()


def random_ids(batch: int = 3, length: int = 9, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", BACKBONES)
def test_shapes_and_state_format(name: str) -> None:
    model = make(name)
    logits, state = model(random_ids(3, 9))
    assert logits.shape == (3, 9, VOCAB)
    if isinstance(model, TransformerLM):
        assert model.max_len == MAX_LEN
        assert isinstance(state, KVCache) and state.offset == 9 and len(state.layers) == 2
        assert state.layers[0][0].shape == (3, 4, 9, 8)  # (B, nh, P, hs)
    else:
        assert model.max_len is None
        h = state[0] if name == "lstm" else state
        assert h.shape == (2, 3, 24)  # (num_layers, B, hidden_dim)
        if name == "lstm":
            assert state[1].shape == (2, 3, 24)


@pytest.mark.parametrize("name", BACKBONES)
def test_causality(name: str) -> None:
    model = make(name)
    ids = random_ids(2, 12)
    t = 5
    changed = ids.clone()
    changed[:, t + 1 :] = (changed[:, t + 1 :] + 1) % VOCAB
    with torch.no_grad():
        before, _ = model(ids)
        after, _ = model(changed)
    torch.testing.assert_close(after[:, : t + 1], before[:, : t + 1], atol=1e-6, rtol=0)
    assert not torch.allclose(after[:, t + 1 :], before[:, t + 1 :])


def decode_in_chunks(
    model: nn.Module, ids: torch.Tensor, sizes: list[int], state: Any = None
) -> torch.Tensor:
    out, start = [], 0
    for size in sizes:
        logits, state = model(ids[:, start : start + size], state)
        out.append(logits)
        start += size
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("sizes", [[1] * 9, [5, 1, 3], [2, 7]], ids=["tokenwise", "5-1-3", "2-7"])
def test_cached_decoding_equals_full_pass(name: str, sizes: list[int]) -> None:
    model = make(name)
    ids = random_ids(3, sum(sizes))
    with torch.no_grad():
        full, _ = model(ids)
        chunked = decode_in_chunks(model, ids, sizes)
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", BACKBONES)
def test_state_can_seed_several_continuations(name: str) -> None:
    # the given state is not modified, so one prompt's state serves several samples
    model = make(name)
    ids = random_ids(2, 7)
    with torch.no_grad():
        _, prompt_state = model(ids[:, :5])
        for token in (3, 11):
            step, _ = model(torch.full((2, 1), token), prompt_state)
            full, _ = model(torch.cat([ids[:, :5], torch.full((2, 1), token)], dim=1))
            torch.testing.assert_close(step[:, 0], full[:, -1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", BACKBONES)
def test_old_state_survives_its_continuation_advancing(name: str) -> None:
    # the Transformer appends in place to buffers shared with the prompt's state: after one
    # continuation has run several steps (and outgrown its first buffer), the prompt's state
    # and a mid-way state must still give the logits of a full pass
    model = make(name)
    ids = random_ids(2, 30, seed=4)
    other = (ids + 1) % VOCAB
    with torch.no_grad():
        full, _ = model(ids)
        other_full, _ = model(torch.cat([ids[:, :5], other[:, 5:]], dim=1))
        _, prompt_state = model(ids[:, :5])
        state, mid_state = prompt_state, None
        for t in range(5, 30):
            step, state = model(ids[:, t : t + 1], state)
            torch.testing.assert_close(step[:, 0], full[:, t], atol=1e-5, rtol=1e-5)
            mid_state = state if t == 9 else mid_state
        branched = decode_in_chunks(model, other[:, 5:12], [1] * 7, prompt_state)
        torch.testing.assert_close(branched, other_full[:, 5:12], atol=1e-5, rtol=1e-5)
        again = decode_in_chunks(model, ids[:, 10:14], [1, 3], mid_state)
        torch.testing.assert_close(again, full[:, 10:14], atol=1e-5, rtol=1e-5)
        last = decode_in_chunks(model, ids[:, 5:30], [24, 1], prompt_state)[:, -1]
        torch.testing.assert_close(last, full[:, 29], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pos_encoding", ["sinusoidal", "rotary"])
def test_cached_decoding_backpropagates(pos_encoding: str) -> None:
    # with autograd on, the cache must not be written in place (backward reads the old keys)
    model = make(f"transformer-{pos_encoding}")
    ids = random_ids(2, 9)
    decode_in_chunks(model, ids, [5, 1, 3]).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(ids)[0].sum().backward()
    for got, want in zip(grads, [p.grad for p in model.parameters()], strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("pos_encoding", ["learned", "rotary"])
def test_kv_cache_expands_one_row_to_many(pos_encoding: str) -> None:
    model = make(f"transformer-{pos_encoding}")
    ids = random_ids(1, 6)
    with torch.no_grad():
        _, one = model(ids[:, :5])
        many = one.expand(3)
        assert many.offset == 5 and many.layers[0][0].shape == (3, 4, 5, 8)
        steps = torch.tensor([[2], [9], [ids[0, 5].item()]])
        logits, _ = model(steps, many)
        for row in range(3):
            full, _ = model(torch.cat([ids[:, :5], steps[row : row + 1]], dim=1))
            torch.testing.assert_close(logits[row, 0], full[0, -1], atol=1e-5, rtol=1e-5)
        with pytest.raises(ValueError, match="one-row"):
            many.expand(2)


@pytest.mark.parametrize("name", BACKBONES)
def test_dropout_only_in_training(name: str) -> None:
    model = make(name, dropout=0.5)
    ids = random_ids(2, 8)
    with torch.no_grad():
        assert torch.equal(model(ids)[0], model(ids)[0])
        model.train()
        assert not torch.equal(model(ids)[0], model(ids)[0])


@pytest.mark.parametrize("name", BACKBONES)
def test_overfits_one_batch(name: str) -> None:
    # Random ids are incompressible, so only memorising lowers the loss. Each row starts with
    # a distinct token, so every target is a function of its prefix and the best loss is 0;
    # chance is ln(17) ≈ 2.83 nats. Below 0.1 nats the mean probability of the right token
    # (geometric) exceeds 0.9: the batch has been learned, not guessed.
    model = make(name).train()
    ids = random_ids(4, 16, seed=3)
    ids[:, 0] = torch.arange(4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        logits, _ = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1, f"{name} did not fit one batch: loss {loss.item():.3f}"
    assert loss.item() < math.log(VOCAB)


@pytest.mark.parametrize("pos_encoding", ["sinusoidal", "learned", "rotary"])
def test_context_window_is_enforced(pos_encoding: str) -> None:
    model = make(f"transformer-{pos_encoding}")
    with torch.no_grad():
        _, state = model(random_ids(1, MAX_LEN))  # exactly max_len fits
        with pytest.raises(ContextLengthError, match="max_len=32"):
            model(random_ids(1, 1), state)
        _, state = model(random_ids(1, MAX_LEN - 2))
        with pytest.raises(ValueError, match="context window"):
            model(random_ids(1, 3), state)
        with pytest.raises(ValueError, match="context window"):
            model(random_ids(1, MAX_LEN + 1))


def test_transformer_output_is_tied_to_embedding() -> None:
    model = make("transformer-rotary")
    assert model.lm_head.weight is model.tok_emb.weight
    logits, _ = model(random_ids(1, 4))
    logits.sum().backward()
    assert model.tok_emb.weight.grad is not None
    counted = num_parameters(model)
    assert counted == sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert counted < sum(p.numel() for p in model.state_dict().values())  # tied counted once


@pytest.mark.parametrize("hidden_dim", [16, 24], ids=["same-width", "projected"])
def test_recurrent_weight_tying(hidden_dim: int) -> None:
    tied = make("lstm", hidden_dim=hidden_dim, tie_weights=True)
    untied = make("lstm", hidden_dim=hidden_dim)
    assert tied.head.weight is tied.embed.weight
    assert (tied.proj is None) == (hidden_dim == 16)
    proj = 0 if tied.proj is None else num_parameters(tied.proj)
    head = untied.head.weight.numel()
    assert num_parameters(tied) == num_parameters(untied) - head + proj
    assert tied(random_ids(2, 5))[0].shape == (2, 5, VOCAB)


def test_build_model_by_name() -> None:
    assert build_model("gru", VOCAB, embed_dim=8, hidden_dim=8).cell == "gru"
    assert isinstance(build_model("transformer", VOCAB, d_model=16, n_heads=2), TransformerLM)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("mamba", VOCAB)
    with pytest.raises(ValueError, match="unknown recurrent cell"):
        RecurrentLM(VOCAB, cell="lstmm")
    with pytest.raises(ValueError, match="unknown pos_encoding"):
        TransformerLM(VOCAB, pos_encoding="alibi")
    with pytest.raises(ValueError, match="divisible"):
        TransformerLM(VOCAB, d_model=30, n_heads=4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", BACKBONES)
def test_cached_decoding_on_gpu(name: str) -> None:
    # on GPU, SDPA picks the flash / memory-efficient kernels; the cache must still agree
    model = make(name).cuda()
    ids = random_ids(2, 9).cuda()
    with torch.no_grad():
        full, _ = model(ids)
        chunked = decode_in_chunks(model, ids, [5, 1, 3])
    torch.testing.assert_close(chunked, full, atol=1e-3, rtol=1e-3)
