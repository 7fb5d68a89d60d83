"""Our own ABC 2.1 reader: tune books to :class:`~musicgen.music.Score` objects.

The reader handles the ABC that folk collections use: header fields (X T M L Q K),
keys with modes and explicit accidentals, notes, rests, lengths, ties, broken rhythm,
tuplets, chords, grace notes (skipped: they take no time), decorations, chord symbols
(kept as :class:`~musicgen.music.ChordSymbol`), bar lines, repeats and endings, inline
fields, and several voices.

Conventions:

* **Time** is in quarter notes, exact :class:`fractions.Fraction`.
* **Accidentals** last to the end of the bar and apply to the same letter in every
  octave: ``^G`` makes a later ``g`` of the bar G sharp too. ABC 2.1 §4.2 says only that
  an accidental holds for the rest of the bar; §11.3 names the choices of
  ``%%propagate-accidentals not|octave|pitch`` and makes ``pitch`` (all octaves) the
  default, which abc2midi plays. The directive (in the file header, the tune header or
  the body) still selects ``octave`` or ``not``.
* **Ties** join notes into one :class:`~musicgen.music.Note`, across bar lines too.
* **Repeats** are kept in the written order by default (every note once; first and
  second endings both, as written). ``expand_repeats=True`` plays the tune as a player
  does (ABC 2.1 §4.8, §4.9, §3.1.9): ``|: :|``, ``::``, endings ``[1 [2 [1,3``, a ``:|``
  with no ``|:`` going back to the latest ``||``/``|]``/used ``:|`` or the start, and a
  header ``P:AABA`` playing the body's labelled parts in that order
  (``repeats.py``, ``parts.py``).
* **Voices** (``V:``) are each read from time 0 and merged into one Score, so all voices'
  notes sound together; the first voice's meter changes are the Score's.
* **Tempo** is 120 quarter notes per minute when there is no ``Q:``, recorded as a
  :class:`~musicgen.music.Tempo` at time 0 so MIDI export keeps it.
* **Errors**: an unreadable tune is an :class:`~musicgen.music.AbcParseError` that names
  the file, the tune (``X:`` and title) and the line. :func:`read_abc` logs and skips it
  (or raises with ``strict=True``); :func:`read_abc_book` returns it beside the tunes.
"""

from musicgen.music.abc.reader import AbcBook, iter_abc_tunes, read_abc, read_abc_book
from musicgen.music.abc.source import AbcTuneText, split_abc_tunes

__all__ = [
    "AbcBook",
    "AbcTuneText",
    "iter_abc_tunes",
    "read_abc",
    "read_abc_book",
    "split_abc_tunes",
]
