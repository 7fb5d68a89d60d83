"""Exact negative log-likelihood of a model on a token stream or on whole documents.

Training-time validation scores fixed windows that each start without context. The
functions here give every scored token as much context as the model can use:

- a recurrent model carries its state across chunks, so a token sees the whole past;
- a Transformer is slid over the stream with windows of ``max_len`` tokens advancing by
  ``stride``; after the first window only the last ``stride`` tokens of each are scored,
  so every token has at least ``max_len - stride`` tokens of context.

Every token but the first of a stream (or document) is predicted exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from musicgen.data.streams import stream_cut


@dataclass
class StreamNLL:
    """The summed NLL (nats) of a stream and how many tokens it covers."""

    nll: float
    tokens: int  # tokens predicted

    @property
    def nats_per_token(self) -> float:
        return self.nll / self.tokens if self.tokens else float("nan")


def _token_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-position NLL, (B, T), from logits (B, T, V) and targets (B, T)."""
    flat = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="none")
    return flat.view(targets.shape)


@torch.no_grad()
def stream_nll(
    model: nn.Module,
    ids: Sequence[int] | np.ndarray,
    *,
    segments: int = 16,
    chunk: int = 256,
    stride: int | None = None,
) -> StreamNLL:
    """NLL of a long token stream (a text split).

    The stream is cut into ``segments`` contiguous parts scored side by side as one batch
    (the first token of each part is context only, so ``len(ids) - segments`` tokens are
    predicted). A recurrent model reads each part in chunks of ``chunk`` tokens carrying
    its state; a Transformer slides windows of its ``max_len`` with ``stride`` (default
    half the window) over each part.

    Args:
        model: a backbone, ``forward(ids, state) -> (logits, state)``, in eval mode.
        ids: the token stream.
        segments: parts scored in parallel (a batch); fewer when the stream is short.
        chunk: tokens per forward pass of a recurrent model.
        stride: a Transformer's window advance.
    """
    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    length, rest = stream_cut(len(ids), segments)  # the cut stateful validation uses too
    if length < 2:
        return StreamNLL(0.0, 0)
    parts = ids[: len(ids) - rest].view(-1, length)  # (segments, length)
    tail = ids[len(ids) - rest :]
    total = _batch_nll(model, parts, chunk, stride)
    if len(tail) >= 1:  # the remainder, with the end of the last part as its context
        extra = _batch_nll(model, ids[-len(tail) - 1 :][None], chunk, stride)
        total = StreamNLL(total.nll + extra.nll, total.tokens + extra.tokens)
    return total


def _batch_nll(model: nn.Module, batch: torch.Tensor, chunk: int, stride: int | None) -> StreamNLL:
    """Summed NLL of rows of equal length, each predicted from its own first token."""
    device = next(model.parameters()).device
    batch = batch.to(device)
    max_len = getattr(model, "max_len", None)
    if max_len is None:
        return _recurrent_nll(model, batch, chunk)
    return _sliding_nll(model, batch, max_len, stride or max(1, max_len // 2))


def _recurrent_nll(model: nn.Module, batch: torch.Tensor, chunk: int) -> StreamNLL:
    state, nll = None, 0.0
    n = batch.shape[1]
    for start in range(0, n - 1, chunk):
        stop = min(start + chunk, n - 1)
        logits, state = model(batch[:, start:stop], state)
        nll += float(_token_nll(logits, batch[:, start + 1 : stop + 1]).sum())
    return StreamNLL(nll, batch.shape[0] * (n - 1))


def _sliding_nll(model: nn.Module, batch: torch.Tensor, window: int, stride: int) -> StreamNLL:
    n = batch.shape[1]
    stride = min(stride, window)
    nll, scored_to = 0.0, 0  # targets [1, scored_to] are done
    start = 0
    while scored_to < n - 1:
        stop = min(start + window, n - 1)  # inputs [start, stop) predict [start+1, stop]
        logits, _ = model(batch[:, start:stop])
        per = _token_nll(logits, batch[:, start + 1 : stop + 1])
        first_new = scored_to - start  # positions before it were scored by earlier windows
        nll += float(per[:, first_new:].sum())
        scored_to = stop
        start = min(start + stride, max(n - 1 - window, 0)) if stop < n - 1 else stop
    return StreamNLL(nll, batch.shape[0] * (n - 1))


@torch.no_grad()
def document_nll(
    model: nn.Module, documents: Sequence[np.ndarray], *, batch_size: int = 16
) -> list[float]:
    """Summed NLL (nats) of each document, scored from its own first token (its ``<bos>``).

    Documents are batched by length; shorter rows are padded at the end, which a causal
    model cannot see, and the padding is not scored. Documents longer than a
    Transformer's window are scored alone with sliding windows.
    """
    device = next(model.parameters()).device
    max_len = getattr(model, "max_len", None)
    out = [0.0] * len(documents)
    order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
    short = [i for i in order if max_len is None or len(documents[i]) - 1 <= max_len]
    fits = set(short)
    for i in order:
        if i not in fits:
            doc = torch.as_tensor(np.asarray(documents[i], dtype=np.int64))[None]
            out[i] = _sliding_nll(model, doc.to(device), max_len, max_len // 2).nll
    for b in range(0, len(short), batch_size):
        rows = short[b : b + batch_size]
        width = max(len(documents[i]) for i in rows)
        x = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width - 1, dtype=torch.bool)
        for r, i in enumerate(rows):
            doc = np.asarray(documents[i], dtype=np.int64)
            x[r, : len(doc)] = torch.from_numpy(doc)
            mask[r, : len(doc) - 1] = True
        x = x.to(device)
        logits, _ = model(x[:, :-1])
        per = _token_nll(logits, x[:, 1:]) * mask.to(device)
        for r, i in enumerate(rows):
            out[i] = float(per[r].sum())
    return out
