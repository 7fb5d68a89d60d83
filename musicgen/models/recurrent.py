"""A recurrent language model: embedding, an LSTM / GRU / Elman RNN core, a vocabulary head."""

from __future__ import annotations

import torch
from torch import nn

# the three recurrent cores the lecture compares
CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}

# hidden state: (h, c) for an LSTM, h for a GRU or RNN; each (num_layers, B, hidden_dim)
RecurrentState = tuple[torch.Tensor, torch.Tensor] | torch.Tensor


class RecurrentLM(nn.Module):
    """A multi-layer recurrent language model.

    `forward(ids, state)` returns the logits and the new hidden state, so a long sequence can
    be fed in chunks (or one token at a time) and give the same logits as one full pass. The
    state passed in is never modified; the returned state is still attached to the autograd
    graph (detach it yourself for truncated backpropagation through time).

    Args:
        vocab_size: Number of token ids.
        embed_dim: Width of the token embedding.
        hidden_dim: Width of the recurrent state.
        num_layers: Stacked recurrent layers.
        cell: "lstm", "gru" or "rnn" (Elman, tanh).
        dropout: Dropout on the embedding, between layers and before the head
            (Zaremba et al. 2014: dropout on the non-recurrent connections only).
        tie_weights: Share the output matrix with the embedding (Press & Wolf 2016). When
            `hidden_dim != embed_dim` a linear projection from hidden to embedding width is
            put in front of the tied head (as in Merity et al. 2017's AWD-LSTM last layer).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 256,
        hidden_dim: int = 1024,
        num_layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.0,
        tie_weights: bool = False,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown recurrent cell {cell!r}; choose one of {sorted(CELLS)}")
        self.cell = cell
        self.max_len: int | None = None  # no context window: the state carries the past
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.drop = nn.Dropout(dropout)
        # nn.RNNBase warns about inter-layer dropout with a single layer, so pass it only then
        self.rnn = CELLS[cell](
            embed_dim,
            hidden_dim,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        needs_proj = tie_weights and hidden_dim != embed_dim
        self.proj = nn.Linear(hidden_dim, embed_dim) if needs_proj else None
        self.head = nn.Linear(embed_dim if tie_weights else hidden_dim, vocab_size)
        self._init_weights()
        if tie_weights:
            self.head.weight = self.embed.weight  # weight tying: Press & Wolf 2016

    def _init_weights(self) -> None:
        # small uniform embeddings and a zero output bias, as in Zaremba et al. 2014
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.zeros_(self.head.bias)
        if self.cell == "lstm":
            # forget-gate bias 1 so gradients flow early in training (Jozefowicz et al. 2015);
            # gate order in PyTorch is i, f, g, o, and the two biases add up
            hidden = self.rnn.hidden_size
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_"):
                    nn.init.zeros_(bias)
                    if name.startswith("bias_ih"):
                        nn.init.ones_(bias[hidden : 2 * hidden])

    def forward(
        self, ids: torch.Tensor, state: RecurrentState | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Runs the model over `ids`, continuing from `state`.

        Args:
            ids: Token ids, (B, T).
            state: The state returned by the previous call, or None to start from zeros.

        Returns:
            Logits (B, T, V) and the state after the last token.
        """
        x = self.drop(self.embed(ids))  # (B, T, E)
        out, state = self.rnn(x, state)  # (B, T, H)
        out = self.drop(out)
        if self.proj is not None:
            out = self.proj(out)  # (B, T, E)
        return self.head(out), state  # (B, T, V)
