"""The random number generators' states, as plain tensors and lists for a checkpoint.

A resumed run draws the same dropout masks as an uninterrupted one only if the torch, CUDA,
numpy and Python generators continue from where the killed run left them. The states are
stored as tensors, lists and numbers so a checkpoint stays loadable with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def capture() -> dict:
    """Every generator's state now: ``torch`` (CPU), ``cuda`` (one per device, when there
    is CUDA), ``numpy`` and ``python``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss_next],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict) -> None:
    """Sets every generator ``capture`` saw back to its saved state.

    CUDA states are restored for the devices both runs have (a run resumed on fewer GPUs
    keeps the rest as they are).
    """
    torch.set_rng_state(state["torch"].cpu())
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if state.get("cuda") and torch.cuda.is_available():
        for device, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), device)
