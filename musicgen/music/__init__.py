"""Music types, readers and writers. Never imports torch."""

from musicgen.music.abc import read_abc
from musicgen.music.errors import (
    AbcParseError,
    MidiFormatError,
    MusicFormatError,
    ScoreLimitError,
)
from musicgen.music.midi import read_midi, write_midi
from musicgen.music.score import ChordSymbol, Key, Note, Score, Tempo, TimeSignature

__all__ = [
    "AbcParseError",
    "ChordSymbol",
    "Key",
    "MidiFormatError",
    "MusicFormatError",
    "Note",
    "Score",
    "ScoreLimitError",
    "Tempo",
    "TimeSignature",
    "read_abc",
    "read_midi",
    "write_midi",
]
