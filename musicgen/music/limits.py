"""The limits that keep bad or hostile input from crashing, hanging or filling memory.

Every reader and the note tokenizer check these, so a number written in a file (an
ending ``[1-1000000000``, a rest ``Z99999999``, ``L:1e9``, a MIDI delta time of years)
can never make work or memory grow with its value. Going past one raises a
:class:`~musicgen.music.MusicFormatError` subclass that names the limit.

Each is far beyond real music: measured over every tune in ``shared/data`` and music21's
folk corpus (Essen, O'Neill's 1850, Ryan's Mammoth; 1,154 files), the largest tune is
2,439 characters, the most notes 992 (repeats expanded), the longest span 696 quarter
notes, the longest note 16 quarter notes, the highest ending number 8, the fastest tempo
200 quarter notes per minute.
"""

from __future__ import annotations

# ABC: characters in one tune's text (X: line to the next tune). Bounds the memory of
# reading it, about 350 bytes per character at worst.
MAX_TUNE_CHARS = 200_000
# ABC: largest ending number (``[1-3``, ``|2``), so also the most passes of a repeat.
MAX_ENDING_NUMBER = 32
# ABC: most digits in one number of a note length (``C3/2``) or a tuplet (``(3``).
MAX_NUMBER_DIGITS = 6
# ABC: longest single note, rest or chord, in quarter notes (64 bars of 4/4).
MAX_NOTE_QUARTERS = 256
# ABC: most bars in one multi-bar rest (``Z16``).
MAX_REST_BARS = 10_000
# ABC: fastest tempo a ``Q:`` field may give, in quarter notes per minute.
MAX_QPM = 1_000.0
# ABC: most notes in one tune, after repeats are expanded.
MAX_NOTES_PER_TUNE = 100_000
# Every Score a reader returns, and every Score the note tokenizer encodes: the time at
# which its last note ends, in quarter notes (about 14 hours at 120 per minute). The
# tokenizer writes one Bar token per bar of this span.
MAX_SPAN_QUARTERS = 100_000
