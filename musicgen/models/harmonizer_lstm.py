"""A BiLSTM encoder and an LSTM decoder with additive attention (Bahdanau et al. 2015)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from musicgen.models.harmonizer import BEAT, BeatDistance, MelodyEmbedding, select_rows, source_mask
from musicgen.tokenizers.harmony import FEATURE_SIZES


class LstmState(NamedTuple):
    """The decoder's state: the encoder's output (kept), the LSTM cell, the next step.

    Attributes:
        memory: encoder states (B, S, 2H); keys: the attention projection (B, S, A) of the
            encoder states beside the notes' own embeddings.
        mask: (B, S), True at notes. h, c: the decoder cell (B, H). position: next step.
        attention: the weights (B, T, S) of the last call's steps when asked, else None.
        beats: each note's beat (B, S).
    """

    memory: torch.Tensor
    keys: torch.Tensor
    mask: torch.Tensor
    h: torch.Tensor
    c: torch.Tensor
    position: int
    attention: torch.Tensor | None = None
    beats: torch.Tensor | None = None

    def select(self, index: torch.Tensor) -> LstmState:
        return select_rows(self, index)


class AdditiveAttention(nn.Module):
    """e_ts = vᵀ tanh(W q_t + U k_s), α_t = softmax_s(e_t) (Bahdanau et al. 2015, eq. 6).

    The decoder passes q_t = [s_{t-1}; y_t], its state and its step's input, and k_s =
    [h_s; x_s], the encoder state and the note's embedding: y_t and x_s both carry the beat
    sinusoid, so a score can match step t to the notes of its beat directly, where s_{t-1}
    and h_s (Bahdanau's own query and key) only hold it blurred by the recurrences. A
    ``bias`` (:class:`BeatDistance`) is added to e_t before the softmax.
    """

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_dim, attn_dim, bias=False)
        self.key = nn.Linear(key_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(
        self, s: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor,
        bias: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Context (B, 2H) and weights (B, S) for a query s (B, Q); ``bias`` (B, S)."""
        e = self.v(torch.tanh(self.query(s)[:, None, :] + keys)).squeeze(-1)  # (B, S)
        if bias is not None:
            e = e + bias
        alpha = e.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        return torch.bmm(alpha[:, None, :], memory).squeeze(1), alpha


class LstmHarmonizer(nn.Module):
    """Melody → chords: BiLSTM encoder, attentive LSTM decoder, one chord per beat.

    The decoder's input at step t is the previous chord's embedding plus beat t's time
    encoding, joined with the context read from the melody with s_{t-1} and that input (see
    :class:`AdditiveAttention`); the output layer sees the new state, the context and the
    input ("deep output", Bahdanau et al. 2015). The scores carry a learned beat-distance
    prior (:class:`BeatDistance`): without it the attention aligned on the synthetic bar
    task (0.90 of each step's mass on its own bar) only after 300 steps, and on Nottingham
    both models held one chord for 98% of the beats after 100 steps (the Transformer still
    after 400); with it, 0.84 untrained and 0.95 after 300 steps on the synthetic task
    (``tests/test_harmonizer.py``).

    Args:
        vocab_size: chord vocabulary size.
        d_model: embedding width of notes and chords.
        hidden_dim: width H of each encoder direction and of the decoder.
        attn_dim: width of the additive attention's hidden layer.
        dropout: on embeddings and the output layer's input.
        max_beats: longest tune in beats.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 128,
        hidden_dim: int = 128,
        attn_dim: int = 128,
        dropout: float = 0.1,
        max_beats: int = 1024,
    ) -> None:
        super().__init__()
        self.max_len = None  # the decoder has no window: its state carries the past
        self.src_emb = MelodyEmbedding(FEATURE_SIZES, d_model, max_beats)
        self.tgt_emb = nn.Embedding(vocab_size, d_model)
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.LSTM(d_model, hidden_dim, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden_dim, 2 * hidden_dim)  # mean memory -> (h0, c0)
        self.attention = AdditiveAttention(hidden_dim + d_model, 2 * hidden_dim + d_model, attn_dim)
        self.distance = BeatDistance(1)
        self.cell = nn.LSTMCell(d_model + 2 * hidden_dim, hidden_dim)
        self.head = nn.Linear(hidden_dim + 2 * hidden_dim + d_model, vocab_size)

    def encode(self, src: torch.Tensor) -> LstmState:
        """Runs the encoder once: the state before the first chord step."""
        mask = source_mask(src)  # (B, S)
        emb = self.src_emb(src)  # (B, S, E)
        x = self.drop(emb)
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(
            out, batch_first=True, total_length=src.size(1)
        )
        mean = (memory * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        h, c = torch.tanh(self.bridge(mean)).chunk(2, dim=-1)  # (B, H) each
        keys = self.attention.key(torch.cat((memory, emb), dim=-1))  # (B, S, A)
        return LstmState(memory, keys, mask, h, c, 0, beats=src[..., BEAT])

    def forward(
        self, src: torch.Tensor, tgt: torch.Tensor, state: LstmState | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, LstmState]:  # fmt: skip
        """Logits (B, T, V) for the chord steps after ``tgt`` (B, T), and the new state."""
        if state is None:
            state = self.encode(src)
        T = tgt.size(1)
        steps = torch.arange(state.position, state.position + T, device=tgt.device)
        x = self.drop(self.tgt_emb(tgt) + self.src_emb.beats(steps))  # (B, T, E)
        h, c, outs, alphas = state.h, state.c, [], []
        bias = self.distance(state.beats, steps)[:, 0]  # (B, T, S)
        for t in range(T):
            query = torch.cat((h, x[:, t]), dim=-1)  # (B, H + E): the state and step t's beat
            ctx, alpha = self.attention(query, state.keys, state.memory, state.mask, bias[:, t])
            h, c = self.cell(torch.cat((x[:, t], ctx), dim=-1), (h, c))
            outs.append(torch.cat((h, ctx, x[:, t]), dim=-1))
            alphas.append(alpha)
        logits = self.head(self.drop(torch.stack(outs, dim=1)))  # (B, T, V)
        attention = torch.stack(alphas, dim=1) if need_weights else None  # (B, T, S)
        new = state._replace(h=h, c=c, position=state.position + T, attention=attention)
        return logits, new
