"""The LSTM gates the course teaches, checked against nn.LSTM inside RecurrentLM."""

from __future__ import annotations

import torch

from musicgen.models import RecurrentLM


def lstm_cell(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step by hand (Hochreiter & Schmidhuber 1997, with a forget gate: Gers et al. 2000).

    x (B, E), h and c (B, H); the weights stack the gates i, f, g, o as PyTorch does.
    """
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)  # (B, H) each
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g  # forget part of the old memory, write the gated candidate
    h = o * torch.tanh(c)  # expose a gated view of the memory
    return h, c


def test_lstm_equals_the_gate_equations() -> None:
    torch.manual_seed(0)
    model = RecurrentLM(vocab_size=11, embed_dim=6, hidden_dim=5, num_layers=2).eval()
    ids = torch.randint(0, 11, (3, 7))
    h0, c0 = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    with torch.no_grad():
        _, (h_n, c_n) = model(ids, (h0, c0))
        layer_input = model.embed(ids)  # (B, T, E)
        for layer in range(2):
            weights = [getattr(model.rnn, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh")]
            biases = [getattr(model.rnn, f"{n}_l{layer}") for n in ("bias_ih", "bias_hh")]
            h, c, outputs = h0[layer], c0[layer], []
            for t in range(ids.size(1)):
                h, c = lstm_cell(layer_input[:, t], h, c, *weights, *biases)
                outputs.append(h)
            torch.testing.assert_close(h, h_n[layer], atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(c, c_n[layer], atol=1e-6, rtol=1e-5)
            layer_input = torch.stack(outputs, dim=1)  # (B, T, H), the next layer's input


def test_lstm_forget_gate_bias_starts_at_one() -> None:
    # Jozefowicz et al. 2015: remember by default at the start of training
    model = RecurrentLM(vocab_size=11, embed_dim=6, hidden_dim=5, num_layers=2)
    for layer in range(2):
        total = getattr(model.rnn, f"bias_ih_l{layer}") + getattr(model.rnn, f"bias_hh_l{layer}")
        assert torch.equal(total[5:10], torch.ones(5))  # gates i, f, g, o: f is the second
        assert torch.equal(total[:5], torch.zeros(5))
