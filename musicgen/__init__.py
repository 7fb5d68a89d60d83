"""musicgen: symbolic-music generation with LSTM and Transformer language models."""

__version__ = "0.1.0"
