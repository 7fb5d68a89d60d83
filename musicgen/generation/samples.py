"""Writing one generated sample to disk: its MIDI, piano roll and (optionally) WAV.

``musicgen-sample`` and the studio page both write samples this way, so what a user gets
from the terminal and from the page is the same set of files.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from musicgen.music import Score, write_midi
from musicgen.music.render import piano_roll, render_wav


@dataclass(frozen=True)
class WrittenSample:
    """The files of one sample.

    Attributes:
        midi: the Standard MIDI File.
        png: the piano roll (prompt shaded and its end marked when there was a prompt).
        wav: the audio, or None when audio was not asked for.
        engine: what rendered the audio (``"fluidsynth"`` or ``"builtin"``), or None.
        notes: how many notes the sample holds, prompt included.
    """

    midi: Path
    png: Path
    wav: Path | None
    engine: str | None
    notes: int

    def files(self) -> str:
        """The files written, comma-separated (the WAV with its engine)."""
        written = [str(self.midi), str(self.png)]
        if self.wav is not None:
            written.append(f"{self.wav} ({self.engine})")
        return ", ".join(written)

    def describe(self) -> str:
        """One line for a terminal: the sample's name, notes, and the files written."""
        return f"{self.midi.stem}: {self.notes} notes -> {self.files()}"


def write_sample(
    score: Score, stem: Path, prompt_at: Fraction | None, audio: bool = True
) -> WrittenSample:
    """Write ``score`` as ``<stem>.mid``, ``<stem>.png`` and, with ``audio``, ``<stem>.wav``.

    Args:
        score: the whole sample, prompt included.
        stem: the path without suffix; its name titles the piano roll.
        prompt_at: where the prompt ends (quarter notes), shaded on the roll; None for none.
        audio: also render a WAV (FluidSynth when installed, else the built-in synthesizer).
    """
    midi, png = stem.with_suffix(".mid"), stem.with_suffix(".png")
    write_midi(score, midi)
    piano_roll(score, png, prompt_end=prompt_at, title=stem.name)
    wav = engine = None
    if audio:
        wav = stem.with_suffix(".wav")
        engine = render_wav(score, wav)
    return WrittenSample(midi, png, wav, engine, len(score.notes))
