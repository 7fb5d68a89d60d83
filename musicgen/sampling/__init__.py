"""Pieces of the sampler (`musicgen.generate`): logit filters and per-row stop criteria."""

from musicgen.sampling.filters import (
    draw,
    filter_logits,
    penalise_repeats,
    top_k_filter,
    top_p_filter,
)
from musicgen.sampling.stopping import StopAfterBars, StopAfterSeconds, StopCriterion

__all__ = [
    "StopAfterBars",
    "StopAfterSeconds",
    "StopCriterion",
    "draw",
    "filter_logits",
    "penalise_repeats",
    "top_k_filter",
    "top_p_filter",
]
