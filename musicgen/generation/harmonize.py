"""Harmonise a melody with a trained harmoniser: chords per beat, a chord track, the alignment.

``sample_harmony`` is what ``musicgen-sample`` runs for a checkpoint whose tokenizer kind is
``"harmony"``: each sample is the melody plus a block-chord track (MIDI, WAV, piano roll)
and ``attention_NN.png``, the alignment matrix of chord steps × melody notes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import torch

from musicgen.generation.prompt import load_prompt
from musicgen.generation.seq2seq_decode import decode
from musicgen.music import ChordSymbol, Note, Score, write_midi
from musicgen.music.render import piano_roll, render_wav
from musicgen.music.timeline import bar_lines
from musicgen.tokenizers.chords import Chord
from musicgen.tokenizers.harmony import (
    BEAT,
    HarmonyInputError,
    HarmonyTokenizer,
    beat_length,
    beat_origin,
    n_beats,
)

CHORD_PROGRAM = 24  # nylon guitar: a chord track that sounds apart from the melody
CHORD_OCTAVE = 48  # chord roots from C3 up


@dataclass
class Harmonisation:
    """A harmonised melody: the chords per beat, the combined score, the alignment (T, S)."""

    chords: list[Chord | None]
    score: Score
    attention: torch.Tensor
    note_beats: list[int]


def harmonize(
    model, tokenizer: HarmonyTokenizer, melody: Score, where: str = "the melody", **decoding
) -> Harmonisation:
    """Writes one chord per beat of ``melody``; ``decoding`` goes to ``seq2seq_decode.decode``.

    Raises:
        HarmonyInputError: the melody has no notes or is not a single line.
    """
    features = tokenizer.encode_melody(melody, where)
    device = next(model.parameters()).device
    src = torch.tensor([features], dtype=torch.long, device=device)  # (1, S, 4)
    steps = min(n_beats(melody), tokenizer.max_beats)
    banned = (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id)
    out = decode(model, src, steps, tokenizer.bos_id, banned, **decoding)
    chords = tokenizer.chords(out.ids, melody)  # back in the melody's key
    score = with_chords(melody, chords)
    return Harmonisation(chords, score, out.attention.cpu(), [f[BEAT] for f in features])


def with_chords(melody: Score, chords: list[Chord | None]) -> Score:
    """The melody plus a block-chord track and chord symbols; a chord held over repeated
    beats is one chord (its notes and symbol span them)."""
    beat, origin = beat_length(melody), beat_origin(melody)
    notes, symbols = list(melody.notes), []
    t = 0
    while t < len(chords):
        end = t + 1
        while end < len(chords) and chords[end] == chords[t]:
            end += 1
        if chords[t] is not None:
            start = max(origin + t * beat, Fraction(0))
            length = origin + end * beat - start
            symbols.append(ChordSymbol(start, chords[t].name))
            for pc in sorted(chords[t].pitch_classes):
                pitch = CHORD_OCTAVE + (pc - chords[t].root) % 12 + chords[t].root
                notes.append(Note(pitch, start, length, velocity=60, program=CHORD_PROGRAM))
        t = end
    return replace(melody, notes=notes, chord_symbols=symbols)


def plot_attention(h: Harmonisation, melody: Score, path: Path, title: str = "") -> Path:
    """The alignment as an image: chord steps (beats) down, melody notes across, with the
    notes that start a bar marked by vertical lines and each step's chord on the left."""
    from matplotlib.figure import Figure  # imported here: matplotlib is slow to load

    weights = h.attention.numpy()  # (T, S)
    fig = Figure(figsize=(max(4, weights.shape[1] / 8), max(3, weights.shape[0] / 8)))
    ax = fig.add_subplot()
    image = ax.imshow(weights, aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="attention weight")
    bar_beats = _bar_beats(melody)
    firsts = [
        i
        for i, b in enumerate(h.note_beats)
        if b in bar_beats and (i == 0 or h.note_beats[i - 1] != b)
    ]
    for i in firsts:
        ax.axvline(i - 0.5, color="white", linewidth=0.6)
    for b in sorted(bar_beats):
        ax.axhline(b - 0.5, color="white", linewidth=0.3, linestyle=":")
    step = max(1, len(h.chords) // 32)
    ax.set_yticks(range(0, len(h.chords), step))
    ax.set_yticklabels([c.name if c else "N" for c in h.chords][::step], fontsize=6)
    ax.set_xlabel("melody note (vertical lines: first note of a bar)")
    ax.set_ylabel("chord step (one per beat; dotted: bar lines)")
    ax.set_title(title or "harmoniser attention")
    fig.savefig(path, dpi=100)
    return path


def _bar_beats(score: Score) -> set[int]:
    """The beats on which a bar starts."""
    beat, origin, total = beat_length(score), beat_origin(score), n_beats(score)
    out = set()
    for line in bar_lines(score):
        b = (line - origin) / beat
        if b >= total:
            return out
        if b.denominator == 1:
            out.add(int(b))
    return out


@dataclass
class HarmonySample:
    """One written harmonisation: how it was decoded, its chords and its files."""

    name: str
    how: str
    chords: list[Chord | None]
    midi: Path
    png: Path
    attention: Path
    wav: Path | None = None
    wav_note: str = ""  # which synthesizer rendered the WAV


def write_harmonies(model, tokenizer: HarmonyTokenizer, melody: Score, where: str, out: Path,
                    n_samples: int = 1, seed: int = 0, temperature: float = 1.0,
                    audio: bool = True, method: str | None = None,
                    beam_width: int = 4) -> list[HarmonySample]:  # fmt: skip
    """Harmonise ``melody`` ``n_samples`` times: the first greedy (or ``method``), the rest
    sampled with seeds ``seed + i``; each sample's MIDI, piano roll, WAV and alignment
    picture go to ``out``.

    Raises:
        HarmonyInputError: the melody has no notes or is not a single line.
    """
    samples = []
    for i in range(n_samples):
        how = method or ("greedy" if i == 0 else "sample")
        h = harmonize(model, tokenizer, melody, where, method=how,
                      temperature=temperature, seed=seed + i, beam_width=beam_width)  # fmt: skip
        stem = out / f"sample_{i:02d}"
        write_midi(h.score, stem.with_suffix(".mid"))
        piano_roll(h.score, stem.with_suffix(".png"), title=stem.name)
        sample = HarmonySample(stem.name, how, h.chords, stem.with_suffix(".mid"),
                               stem.with_suffix(".png"),
                               out / f"attention_{i:02d}.png")  # fmt: skip
        if audio:
            sample.wav = stem.with_suffix(".wav")
            sample.wav_note = render_wav(h.score, sample.wav)
        plot_attention(h, melody, sample.attention, f"{stem.name} ({how})")
        samples.append(sample)
    return samples


def sample_harmony(ck, prompt: str | None, out: Path, n_samples: int = 1, seed: int = 0,
                   temperature: float = 1.0, audio: bool = True, method: str | None = None,
                   beam_width: int = 4) -> list[str]:  # fmt: skip
    """``musicgen-sample`` for a harmoniser: :func:`write_harmonies` on the prompt's melody,
    a line per sample.

    Raises:
        HarmonyInputError: no prompt, or a prompt that is not a single melodic line.
    """
    if not prompt:
        raise HarmonyInputError(
            f"{ck.path} is a harmoniser: give it a melody, prompt=melody.mid (or .abc)"
        )
    melody = load_prompt(prompt)
    samples = write_harmonies(ck.model, ck.tokenizer, melody, str(prompt), out, n_samples,
                              seed, temperature, audio, method, beam_width)  # fmt: skip
    lines = []
    for s in samples:
        written = [str(s.midi), str(s.png)]
        if s.wav:
            written.append(f"{s.wav} ({s.wav_note})")
        written.append(str(s.attention))
        names = " ".join(c.name if c else "N" for c in s.chords[:16])
        lines.append(f"{s.name} ({s.how}): {names} … -> " + ", ".join(written))
    return lines
