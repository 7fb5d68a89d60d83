"""Tokenizers: scores and texts to token ids and back. Never imports torch."""

from musicgen.tokenizers.base import (
    Tokenizer,
    config_hash,
    load_tokenizer,
    register_tokenizer,
    tokenizer_from_dict,
)
from musicgen.tokenizers.bpe import BPETokenizer
from musicgen.tokenizers.char import CharTokenizer
from musicgen.tokenizers.grammar import GrammarError, GrammarState, NoteGrammar
from musicgen.tokenizers.note import NoteTokenizer
from musicgen.tokenizers.text import TEXT_TOKENIZERS, fit_tokenizer
from musicgen.tokenizers.word import WordTokenizer

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "GrammarError",
    "GrammarState",
    "NoteGrammar",
    "NoteTokenizer",
    "TEXT_TOKENIZERS",
    "Tokenizer",
    "WordTokenizer",
    "config_hash",
    "fit_tokenizer",
    "load_tokenizer",
    "register_tokenizer",
    "tokenizer_from_dict",
]
