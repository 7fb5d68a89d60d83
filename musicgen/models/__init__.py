"""Backbones: plain `nn.Module`s with one signature, `forward(ids, state=None) -> (logits, state)`.

`RecurrentLM`'s state is the hidden state (`(h, c)` for an LSTM, `h` for a GRU or RNN);
`TransformerLM`'s is a `KVCache`. Each has a `max_len` attribute: the context window, or
None for the recurrent model.
"""

from musicgen.models.attention import CausalSelfAttention, causal_attention
from musicgen.models.backbone import Backbone, ContextLengthError, num_parameters
from musicgen.models.builder import MODEL_NAMES, build_model
from musicgen.models.harmonizer_lstm import LstmHarmonizer
from musicgen.models.harmonizer_transformer import TransformerHarmonizer
from musicgen.models.recurrent import RecurrentLM
from musicgen.models.transformer import KVCache, TransformerLM

__all__ = [
    "MODEL_NAMES",
    "Backbone",
    "CausalSelfAttention",
    "ContextLengthError",
    "KVCache",
    "LstmHarmonizer",
    "RecurrentLM",
    "TransformerHarmonizer",
    "TransformerLM",
    "build_model",
    "causal_attention",
    "num_parameters",
]
