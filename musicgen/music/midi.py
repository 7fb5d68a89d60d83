"""MIDI reading and writing: :func:`read_midi` and :func:`write_midi`.

The reader lives in :mod:`musicgen.music.midi_read`, the writer in
:mod:`musicgen.music.midi_write`; their module docstrings record the decisions (FIFO note
pairing, lenient data bytes, ticks-per-beat choice, how modes are written).
"""

from musicgen.music.midi_read import read_midi
from musicgen.music.midi_write import mido_key_name, score_to_midifile, write_midi

__all__ = ["mido_key_name", "read_midi", "score_to_midifile", "write_midi"]
