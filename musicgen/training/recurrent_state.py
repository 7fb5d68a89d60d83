"""The recurrent state a stateful run carries from batch to batch (truncated BPTT)."""

from __future__ import annotations

import torch


def detached(state):
    """``state`` cut from the graph that made it: the next batch backpropagates only
    through its own tokens (truncated BPTT), and the earlier graph is freed."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detached(s) for s in state)


def carried(state, ids: torch.Tensor):
    """``state`` to continue from when the next batch is ``ids`` (B, T), or None (zeros).

    A state kept for a different number of rows (a split's one-row tail, or the last
    batch of a stream the model cannot continue) starts over; a state restored from a
    checkpoint moves to the batch's device.
    """
    if state is None:
        return None
    first = state if isinstance(state, torch.Tensor) else state[0]
    if first.shape[1] != ids.shape[0]:  # (num_layers, B, hidden)
        return None
    if first.device != ids.device:
        return (
            state.to(ids.device)
            if isinstance(state, torch.Tensor)
            else tuple(s.to(ids.device) for s in state)
        )
    return state
