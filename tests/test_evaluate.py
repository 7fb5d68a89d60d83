"""Exact NLL of streams and documents: every token scored once, with the promised context."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicgen.evaluation.likelihood import document_nll, stream_nll
from musicgen.models import RecurrentLM, TransformerLM

V = 40


def nll_of(model, ids: torch.Tensor, t: int, context: int | None) -> float:
    """-log p(ids[t] | the previous `context` tokens), one full pass: the brute force."""
    lo = 0 if context is None else max(0, t - context)
    logits, _ = model(ids[None, lo:t])
    return float(-torch.log_softmax(logits[0, -1].double(), -1)[ids[t]])


def models():
    torch.manual_seed(0)
    lstm = RecurrentLM(V, embed_dim=16, hidden_dim=24, num_layers=2).eval()
    tf = TransformerLM(V, d_model=32, n_layers=2, n_heads=2, max_len=32, dropout=0.0).eval()
    return {"lstm": lstm, "transformer": tf}


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_a_stream_is_scored_token_by_token_with_full_or_windowed_context(name):
    model = models()[name]
    ids = torch.randint(0, V, (150,), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if name == "lstm":  # the state carries across chunks: each token sees the whole past
            got = stream_nll(model, ids.numpy(), segments=1, chunk=7)
            want = sum(nll_of(model, ids, t, None) for t in range(1, 150))
        else:  # stride 1: every token sees exactly the last max_len tokens (or all before it)
            got = stream_nll(model, ids.numpy(), segments=1, stride=1)
            want = sum(nll_of(model, ids, t, 32) for t in range(1, 150))
    assert got.tokens == 149
    assert got.nll == pytest.approx(want, rel=1e-4)


def test_segments_lose_only_their_first_tokens():
    model = models()["lstm"]
    ids = np.random.default_rng(2).integers(0, V, 103)
    with torch.no_grad():
        parts = stream_nll(model, ids, segments=4, chunk=10)
    assert parts.tokens == 102 - 3  # four parts (and the tail) share one stream
    whole = stream_nll(model, ids, segments=1)
    assert parts.nats_per_token == pytest.approx(whole.nats_per_token, rel=0.05)


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_each_document_is_scored_alone_from_its_first_token(name):
    model = models()[name]
    rng = np.random.default_rng(3)
    docs = [rng.integers(0, V, n) for n in (2, 9, 30, 33, 80)]  # 80 > the window of 32
    got = document_nll(model, docs, batch_size=2)
    with torch.no_grad():
        for doc, value in zip(docs, got, strict=True):
            t = torch.as_tensor(doc)
            context = None if name == "lstm" else 31 if len(doc) > 33 else None
            want = sum(nll_of(model, t, i, context) for i in range(1, len(doc)))
            if name == "transformer" and len(doc) > 33:  # sliding windows of stride 16
                assert value == pytest.approx(want, rel=0.05)
            else:
                assert value == pytest.approx(want, rel=1e-4)
