"""Listen to and look at a Score: a WAV file and a piano-roll PNG.

Audio goes through FluidSynth with a General MIDI SoundFont when both are installed
(``apt-get install fluidsynth fluid-soundfont-gm``), else through a small built-in
additive synthesizer, so listening never needs a system package. The piano roll is drawn
with matplotlib's object API on an Agg canvas: no pyplot, no global backend switch.

Times come from the score's clock, :mod:`musicgen.music.timeline`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import wave
from collections import Counter
from fractions import Fraction
from itertools import takewhile
from pathlib import Path

import numpy as np

from musicgen.music.midi_write import write_midi
from musicgen.music.score import Score, pitch_name
from musicgen.music.timeline import bar_line_at_or_after, bar_lines, seconds_at

log = logging.getLogger(__name__)

SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm
    "/usr/share/soundfonts/FluidR3_GM.sf2",  # Arch, Fedora
    "/usr/share/soundfonts/default.sf2",
)
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.1, 0.6, 0.15  # seconds, except SUSTAIN (a level)
HARMONICS = (1.0, 0.5, 0.25, 0.12)  # amplitude of partials 1..4: a soft organ-like timbre
PROMPT_COLOUR = "#d62728"  # the prompt-end line; no velocity colour comes near this red


class RenderError(RuntimeError):
    """An explicitly requested SoundFont is missing."""


# ---------------------------------------------------------------- audio


def render_wav(
    score: Score, path: str | os.PathLike, sample_rate: int = 22050, soundfont: str | None = None
) -> str:
    """Write ``score`` as a WAV file.

    Args:
        score: the piece.
        path: the WAV file to write.
        sample_rate: samples per second.
        soundfont: a General MIDI ``.sf2`` for FluidSynth; None looks in the usual places.

    Returns:
        ``"fluidsynth"`` or ``"builtin"``: the engine that wrote the file. FluidSynth is
        used when its binary and a SoundFont are found; if it fails, the built-in
        synthesizer writes the file instead (with a logged warning).

    Raises:
        RenderError: ``soundfont`` was given but does not exist.
    """
    if soundfont is not None and not Path(soundfont).is_file():
        raise RenderError(f"{soundfont}: SoundFont not found")
    font = soundfont or next((f for f in SOUNDFONTS if Path(f).is_file()), None)
    binary = shutil.which("fluidsynth")
    if binary and font and _fluidsynth(score, Path(path), sample_rate, binary, font):
        return "fluidsynth"
    samples = synthesize(score, sample_rate)
    _write_wav(samples, Path(path), sample_rate)
    return "builtin"


def _fluidsynth(score: Score, path: Path, sample_rate: int, binary: str, font: str) -> bool:
    """Render through the FluidSynth command line; False (and a warning) when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "score.mid"
        write_midi(score, midi)
        # -n no MIDI input, -i no shell, -F render to file (format from the suffix)
        command = [binary, "-ni", "-g", "1.0", "-r", str(sample_rate), "-F", str(path), font]
        try:
            result = subprocess.run(
                [*command, str(midi)], capture_output=True, text=True, timeout=600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("fluidsynth failed (%s); using the built-in synthesizer", exc)
            return False
    if result.returncode != 0 or not path.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        log.warning("fluidsynth failed (%s); using the built-in synthesizer", tail)
        return False
    return True


def synthesize(score: Score, sample_rate: int = 22050) -> np.ndarray:
    """Mono float samples in [-0.9, 0.9] of the score, through a tiny additive synth.

    Each pitched note is a few harmonics under an ADSR envelope, its amplitude
    proportional to velocity; drums are short noise bursts. The sound lasts to the end
    of the last note plus one release time.
    """
    total = int(np.ceil((seconds_at(score, score.end) + RELEASE) * sample_rate))
    out = np.zeros(total, dtype=np.float64)
    rng = np.random.default_rng(0)  # drum noise: the same file every time
    for note in score.notes:
        first = int(round(seconds_at(score, note.start) * sample_rate))
        held = seconds_at(score, note.end) - seconds_at(score, note.start)
        tone = _drum(rng, sample_rate) if note.is_drum else _tone(note.pitch, held, sample_rate)
        tone = tone[: total - first] * (note.velocity / 127.0)
        out[first : first + len(tone)] += tone
    peak = np.abs(out).max(initial=0.0)
    return out * (0.9 / peak) if peak > 0 else out


def _tone(pitch: int, held: float, sample_rate: int) -> np.ndarray:
    """One note: harmonics below Nyquist times an ADSR envelope (held + release seconds)."""
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12)
    t = np.arange(int((held + RELEASE) * sample_rate)) / sample_rate
    wave_ = sum(
        amp * np.sin(2 * np.pi * freq * k * t)
        for k, amp in enumerate(HARMONICS, start=1)
        if freq * k < sample_rate / 2
    )
    return wave_ * _envelope(t, held)


def _envelope(t: np.ndarray, held: float) -> np.ndarray:
    """ADSR: rise over ATTACK, fall to SUSTAIN over DECAY, fade over RELEASE after ``held``."""
    attack = np.clip(t / ATTACK, 0.0, 1.0)
    decay = 1.0 - (1.0 - SUSTAIN) * np.clip((t - ATTACK) / DECAY, 0.0, 1.0)
    level_at_release = np.interp(held, t, attack * decay) if len(t) else 0.0
    release = level_at_release * np.clip(1.0 - (t - held) / RELEASE, 0.0, 1.0)
    return np.where(t < held, attack * decay, release)


def _drum(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.12 * sample_rate)) / sample_rate
    return 0.5 * rng.uniform(-1.0, 1.0, len(t)) * np.exp(-t / 0.03)


def _write_wav(samples: np.ndarray, path: Path, sample_rate: int) -> None:
    """16-bit mono PCM through the standard library's ``wave`` module."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


# ---------------------------------------------------------------- piano roll


def piano_roll(
    score: Score,
    path: str | os.PathLike,
    prompt_end: Fraction | None = None,
    title: str | None = None,
) -> None:
    """Draw ``score`` as a piano-roll PNG: bars on x, pitch on y, one box per note.

    Boxes are coloured by velocity, or by program when several programs play. Drum notes
    are left out (the title says how many). An empty score gives an empty roll.

    Args:
        score: the piece.
        path: the PNG file to write.
        prompt_end: where the prompt ends (quarter notes): the prompt is shaded grey and
            a red line marks its end. None draws no marker.
        title: the figure title; defaults to the score's title.
    """
    from matplotlib.figure import Figure  # imported here: matplotlib costs ~0.3 s to load

    pitched = [n for n in score.notes if not n.is_drum]
    end = bar_line_at_or_after(score, max(score.end, prompt_end or 0, Fraction(1, 480)))
    fig = Figure(figsize=(min(4 + float(end) / 6, 24), 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if pitched:
        _draw_notes(fig, ax, pitched)
    else:
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", color="0.5")
    low = min((n.pitch for n in pitched), default=60) - 2
    high = max((n.pitch for n in pitched), default=72) + 2
    _pitch_axis(ax, low, high)
    _bar_axis(ax, score, end)
    if prompt_end is not None:
        ax.axvspan(0, float(prompt_end), color="0.9", zorder=0)
        ax.axvline(float(prompt_end), color=PROMPT_COLOUR, linewidth=2.5, zorder=3)
        ax.text(float(prompt_end), high + 0.4, "prompt ", va="top", ha="right", fontsize=8)
        ax.text(float(prompt_end), high + 0.4, " continuation →", va="top", fontsize=8)
    drums = len(score.notes) - len(pitched)
    heading = title if title is not None else (score.title or "piano roll")
    ax.set_title(heading + (f"  ({drums} drum notes not shown)" if drums else ""))
    fig.savefig(path)


def _draw_notes(fig, ax, notes: list) -> None:
    """Note boxes; one colour per program when several play, else a velocity colour bar."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    programs = sorted({n.program for n in notes})
    starts = [float(n.start) for n in notes]
    widths = [max(float(n.duration), 1 / 16) for n in notes]  # zero-length notes stay visible
    pitches = [n.pitch for n in notes]
    if len(programs) > 1:
        palette = colormaps["tab10"]
        colours = [palette(programs.index(n.program) % 10) for n in notes]
        # the ten most played: tab10's colours, and a legend that fits beside the roll
        shown = sorted(p for p, _ in Counter(n.program for n in notes).most_common(10))
        for program in shown:
            ax.bar(0, 0, color=palette(programs.index(program) % 10), label=f"program {program}")
        more = len(programs) - len(shown)
        ax.legend(loc="upper right", fontsize=7, title_fontsize=7,
                  title=f"(+{more} more programs)" if more else None)  # fmt: skip
    else:
        norm = Normalize(1, 127)
        colours = [colormaps["viridis"](norm(n.velocity)) for n in notes]
        fig.colorbar(ScalarMappable(norm, "viridis"), ax=ax, label="velocity", pad=0.01)
    ax.barh(pitches, widths, left=starts, height=0.8, color=colours,
            edgecolor="0.2", linewidth=0.4, zorder=2)  # fmt: skip


def _pitch_axis(ax, low: int, high: int) -> None:
    """Pitch names on C (and E, G when the range is under two octaves); a line per C."""
    names = (0, 4, 7) if high - low <= 24 else (0,)
    ticks = [p for p in range(low, high + 1) if p % 12 in names]
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
    ax.set_yticks(range(low, high + 1), minor=True)
    for c in range(low, high + 1):
        if c % 12 == 0:
            ax.axhline(c, color="0.85", linewidth=0.6, zorder=1)
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_ylabel("pitch")


def _bar_axis(ax, score: Score, end: Fraction) -> None:
    """Bar numbers (bar 1 starts after any pickup) as ticks, quarter notes as minor ticks."""
    lines = [float(t) for t in takewhile(lambda t: t <= end, bar_lines(score))]
    step = max(1, len(lines) // 24)  # at most ~24 labels, however long the piece
    ax.set_xticks(lines, [str(i + 1) if i % step == 0 else "" for i in range(len(lines))])
    if end <= 64:
        ax.set_xticks(range(int(end) + 1), minor=True)
    ax.grid(axis="x", which="major", color="0.6", linewidth=0.6)
    ax.grid(axis="x", which="minor", color="0.85", linewidth=0.4)
    ax.set_axisbelow(True)
    ax.set_xlim(0, float(end))
    ax.set_xlabel("bar")
