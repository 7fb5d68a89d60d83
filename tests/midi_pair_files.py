"""A tiny melody/chords MIDI pair, written with mido in the Nottingham layout.

4/4 in G, a one-beat upbeat (the first bar is three beats of rest and a D), then three
bars: G for a bar; D7 and Em for two beats each; C with an added sixth (the ``C6`` of a
lead sheet) and two notes no chord names, ``C D``, for two beats each.
"""

from __future__ import annotations

from pathlib import Path

import mido

TPB = 480  # ticks per beat
TUNE = [67, 69, 71, 72, 74, 72, 71, 67, 69, 72, 74, 67]  # quarter notes from beat 4 on
MELODY = [(3, 74), *((4 + i, p) for i, p in enumerate(TUNE))]  # (beat, pitch), the D an upbeat
CHORDS = [(4, 4, (43, 47, 50)), (8, 2, (38, 42, 45, 48)), (10, 2, (40, 43, 47)),
          (12, 2, (36, 40, 43, 45)), (14, 2, (48, 50))]  # fmt: skip
# the chord of each beat once the leading rest is cut: beat 0 is the upbeat, before any chord
BEAT_CHORDS = [None, "G", "G", "G", "G", "D7", "D7", "Em", "Em", "C", "C", None, None]


def _track(notes: list[tuple[int, int, tuple[int, ...]]], shift: int) -> mido.MidiTrack:
    """``(start beat, beats, pitches)`` moved by ``shift`` as one track, in 4/4 and G."""
    events = []
    for start, beats, pitches in notes:
        for p in (p + shift for p in pitches):
            events += [(start * TPB, 1, p), ((start + beats) * TPB, 0, p)]
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4),
                            mido.MetaMessage("key_signature", key="G")])  # fmt: skip
    now = 0
    for tick, on, p in sorted(events):
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, note=p, velocity=80 if on else 0, time=tick - now))
        now = tick
    return track


def write_pair(root: Path, name: str = "tune1", shift: int = 0) -> Path:
    """Writes ``root/melody/<name>.mid`` and ``root/chords/<name>.mid`` (moved by ``shift``
    semitones); returns the melody's path."""
    paths = []
    for folder, notes in (("melody", [(b, 1, (p,)) for b, p in MELODY]), ("chords", CHORDS)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
        mid.tracks.append(_track(notes, shift))
        paths.append(root / folder / f"{name}.mid")
        mid.save(paths[-1])
    return paths[0]
