"""Tokenizers: scores and texts to token ids and back. Never imports torch."""

from musicgen.tokenizers.base import (
    Tokenizer,
    config_hash,
    load_tokenizer,
    register_tokenizer,
    tokenizer_from_dict,
)
from musicgen.tokenizers.char import CharTokenizer
from musicgen.tokenizers.grammar import GrammarError, GrammarState, NoteGrammar
from musicgen.tokenizers.note import NoteTokenizer

__all__ = [
    "CharTokenizer",
    "GrammarError",
    "GrammarState",
    "NoteGrammar",
    "NoteTokenizer",
    "Tokenizer",
    "config_hash",
    "load_tokenizer",
    "register_tokenizer",
    "tokenizer_from_dict",
]
