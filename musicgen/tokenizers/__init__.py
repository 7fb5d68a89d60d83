"""Tokenizers: scores and texts to token ids and back. Never imports torch."""

from musicgen.tokenizers.base import (
    Tokenizer,
    build_tokenizer,
    config_hash,
    fit_tokenizer,
    load_tokenizer,
    register_tokenizer,
    tokenizer_from_dict,
)
from musicgen.tokenizers.bpe import BPETokenizer
from musicgen.tokenizers.char import CharTokenizer
from musicgen.tokenizers.grammar import GrammarError, GrammarState, NoteGrammar
from musicgen.tokenizers.harmony import HarmonyTokenizer
from musicgen.tokenizers.note import NoteTokenizer
from musicgen.tokenizers.word import WordTokenizer

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "GrammarError",
    "GrammarState",
    "HarmonyTokenizer",
    "NoteGrammar",
    "NoteTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "config_hash",
    "fit_tokenizer",
    "load_tokenizer",
    "register_tokenizer",
    "tokenizer_from_dict",
]
