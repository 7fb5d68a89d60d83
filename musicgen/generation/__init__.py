"""Generation: the sampler, its logit filters and stop criteria, prompts, continuations.

``sampler.generate`` is the one sampler every backbone and every kind of run shares;
``continuation`` holds one function per kind of run (note tokens, ABC characters, text).
"""

from musicgen.generation.filters import (
    draw,
    filter_logits,
    penalise_repeats,
    top_k_filter,
    top_p_filter,
)
from musicgen.generation.sampler import generate
from musicgen.generation.stopping import StopAfterBars, StopAfterSeconds, StopCriterion

__all__ = [
    "StopAfterBars",
    "StopAfterSeconds",
    "StopCriterion",
    "draw",
    "filter_logits",
    "generate",
    "penalise_repeats",
    "top_k_filter",
    "top_p_filter",
]
