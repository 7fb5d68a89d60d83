"""What ``musicgen-sample`` does (its entry point, :mod:`musicgen.cli.sample`, imports this
only after Hydra has parsed the command line, so ``--help`` needs no torch)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from itertools import takewhile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from musicgen.cli.common import UserError
from musicgen.cli.sample_out import SampleFolder, file_sha256, fresh_seed
from musicgen.generation.attention_maps import attention_pictures, require_self_attention
from musicgen.generation.continuation import (
    MAX_NEW_TOKENS,
    continue_abc,
    continue_score,
    continue_text,
)
from musicgen.generation.harmonize import sample_harmony
from musicgen.generation.prompt import (
    ABC_SUFFIXES,
    MIDI_SUFFIXES,
    cut_prompt,
    load_prompt,
    prompt_end,
)
from musicgen.generation.samples import write_sample
from musicgen.music import Score, write_midi
from musicgen.music.abc import read_abc_book
from musicgen.music.abc.cut import cut_abc_text
from musicgen.music.abc.source import load_abc_source
from musicgen.music.timeline import bar_lines, seconds_at
from musicgen.training.checkpoint import load_checkpoint
from musicgen.training.corpus import checkpoint_corpus
from musicgen.training.ready import resolve_checkpoint


def run(cfg: DictConfig) -> None:
    """One ``musicgen-sample`` run (see :mod:`musicgen.cli.sample`)."""
    path = resolve_checkpoint(cfg.ckpt)
    ck = load_checkpoint(path)
    if cfg.seed is None:
        cfg.seed = fresh_seed()
    lines = [
        f"checkpoint: {path} (step {ck.step})",
        f"seed: {cfg.seed} (seed={cfg.seed} gives these samples again)",
    ]
    for line in lines:
        print(line)
    settings = OmegaConf.to_container(cfg, resolve=True)
    header = {"checkpoint": str(path), "step": ck.step, "sha256": file_sha256(path),
              "kind": ck.tokenizer.kind, "prompt": cfg.prompt, "seed": cfg.seed,
              "settings": settings}  # fmt: skip
    folder = SampleFolder(Path(cfg.out_dir), header)
    runner = {
        "notes": sample_notes, "abc": sample_abc_text, "text": sample_text,
        "harmony": sample_harmony_cli,  # a melody in, its chords out
    }  # fmt: skip
    for line in runner[ck.tokenizer.kind](ck, cfg, folder):
        print(line)
        lines.append(line)
    print(f"samples.json: {folder.close(lines)}")


def sample_harmony_cli(ck, cfg: DictConfig, folder: SampleFolder) -> list[str]:
    """Harmoniser checkpoints: chords for the prompt's melody (``generation.harmonize``)."""
    out = folder.path
    lines = folder.open()
    return lines + sample_harmony(
        ck, cfg.prompt, out, cfg.n_samples, cfg.seed, cfg.temperature, cfg.audio
    )


def sampling_args(cfg: DictConfig, kind: str) -> dict:
    """The sampler's settings from a sampling config (``conf/sampling/default.yaml``)."""
    max_tokens = MAX_NEW_TOKENS[kind] if cfg.max_tokens is None else cfg.max_tokens
    return {
        "n_samples": cfg.n_samples, "max_new_tokens": max_tokens,
        "temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p,
        "repetition_penalty": cfg.repetition_penalty, "seed": cfg.seed,
    }  # fmt: skip


def sample_notes(ck, cfg: DictConfig, folder: SampleFolder) -> Iterator[str]:
    """Note-token checkpoints: grammar-constrained samples, each written as MIDI, WAV, PNG."""
    prompt = None
    if cfg.attention:  # before any output: only a Transformer has self-attention to draw
        require_self_attention(ck.model, str(ck.path))
    if cfg.prompt == "heldout":
        prompt, where = heldout_prompt(ck, cfg.prompt_bars, cfg.prompt_seconds)
    elif cfg.prompt:
        _music_prompt_file(str(cfg.prompt), ck.path)
        prompt = load_prompt(cfg.prompt, cfg.prompt_bars, cfg.prompt_seconds)
        where = str(cfg.prompt)
    yield from folder.open()  # the prompt is read: only now the folder is made
    if prompt is not None:
        if cfg.prompt == "heldout":
            write_midi(prompt, folder.path / "heldout_prompt.mid")
        yield f"prompt: {where}: {describe_prompt(prompt)}"
        yield from (f"warning: {w}" for w in polyphony_warnings(prompt, ck.tokenizer))
    report: list[dict] = []
    scores, warnings = continue_score(
        ck.model, ck.tokenizer, prompt, max_bars=cfg.max_bars, max_seconds=cfg.max_seconds,
        report=report, **sampling_args(cfg, "notes"),
    )  # fmt: skip
    yield from (f"warning: {w}" for w in warnings)
    end = Fraction(0) if prompt is None else prompt_end(prompt)
    for i, (score, info) in enumerate(zip(scores, report, strict=True)):
        stem = folder.path / f"sample_{i:02d}"
        files = write_sample(score, stem, None if prompt is None else end, cfg.audio).files()
        if cfg.attention:  # the sample's tokens again, through the model asking for weights
            pictures = attention_pictures(ck.model, ck.tokenizer.encode(score), stem)
            files += ", " + ", ".join(map(str, pictures))
        new = new_music(score, end)
        folder.add(file=str(stem.with_suffix(".mid")), notes=len(score.notes), **new, **info)
        short = " (fewer bars than asked)" if new["new_bars"] < cfg.max_bars else ""
        yield (
            f"{stem.name}: {len(score.notes)} notes, {new['new_bars']} new bars"
            f" ({new['new_seconds']:.1f} s), stopped at {info['stopped']}{short}"
            f" -> {files}"
        )


def describe_prompt(prompt: Score) -> str:
    """One line on what a prompt holds: bars kept, notes, meter, key, programs and the most
    notes struck at once (a melody and its chords on one program are one program, struck
    together: a Score keeps no MIDI tracks)."""
    meter = prompt.time_signatures[0] if prompt.time_signatures else None
    bars = sum(1 for line in takewhile(lambda t: t < prompt_end(prompt), bar_lines(prompt)))
    parts = sorted({(n.is_drum, n.program) for n in prompt.notes})
    most = max(Counter(n.start for n in prompt.notes).values(), default=0)
    key = f"{prompt.key.tonic} {prompt.key.mode}" if prompt.key else "no key"
    upbeat = f" + an upbeat of {prompt.pickup} quarter(s)" if prompt.pickup else ""
    return (
        f"{bars} bar(s){upbeat}, {len(prompt.notes)} notes,"
        f" {f'{meter.numerator}/{meter.denominator}' if meter else 'no meter'}, {key},"
        f" {len(parts)} program(s), up to {most} note(s) at once"
    )


def polyphony_warnings(prompt: Score, tokenizer) -> list[str]:
    """What the model cannot keep of a prompt: several parts are one stream of note tokens
    (the continuation follows what the corpus had, e.g. a melody alone), and programs
    vanish for a tokenizer without Program tokens."""
    parts = {(n.is_drum, n.program) for n in prompt.notes}
    onsets = Counter(n.start for n in prompt.notes)
    chords = sum(1 for c in onsets.values() if c > 1)
    out = []
    if len(parts) > 1 or chords > len(onsets) // 5:
        out.append(
            f"the prompt has {len(parts)} program(s) and {chords} onsets of several notes:"
            " the model reads them"
            " as one stream of note tokens and continues them as its training corpus sounded"
            " (a melody corpus continues a melody only)"
        )
    if len(parts) > 1 and not tokenizer.settings.use_programs:
        out.append("this tokenizer has no Program tokens: every part is continued as piano")
    return out


def new_music(score: Score, end: Fraction) -> dict:
    """Bars and seconds of the music after ``end`` (the prompt's end; 0 for a new piece):
    the bars from ``end`` to the one holding the last new onset (an upbeat counts as one)."""
    onsets = [n.start for n in score.notes if n.start >= end]
    if not onsets:
        return {"new_bars": 0, "new_seconds": 0.0}
    lines = takewhile(lambda t: t <= max(onsets), bar_lines(score))
    bars = sum(1 for t in lines if t >= end) + int(min(onsets) < score.pickup)
    last = max(n.end for n in score.notes if n.start >= end)
    return {"new_bars": bars, "new_seconds": seconds_at(score, last) - seconds_at(score, end)}


def _music_prompt_file(prompt: str, ckpt_path: Path) -> None:
    """A music checkpoint's prompt must be a file it can read: say so, before any output."""
    if not prompt.lower().endswith((*MIDI_SUFFIXES, *ABC_SUFFIXES)) and not Path(prompt).is_file():
        raise UserError(
            f"prompt={prompt!r}: {ckpt_path} is a music model: it continues a .mid/.midi or"
            " .abc file, prompt=heldout (a tune of its test split), or nothing (new pieces)"
        )


def heldout_prompt(ck, bars: int | None, seconds: float | None) -> tuple[Score, str]:
    """The first test-split tune of the checkpoint's own corpus, cut."""
    (tune,) = checkpoint_corpus(ck).tunes("test", 1)  # the training run's own cache
    prompt = cut_prompt(tune, bars, seconds, source=f"held-out tune {tune.title!r}")
    return prompt, f"heldout_prompt.mid (the test tune {tune.title!r})"


def sample_abc_text(ck, cfg: DictConfig, folder: SampleFolder) -> list[str]:
    """Character-level ABC checkpoints: each sample is a tune, read back with our reader."""
    text = _abc_prompt_text(cfg.prompt, cfg.prompt_bars) if cfg.prompt else ""
    tunes = continue_abc(
        ck.model, ck.tokenizer, text, max_bars=cfg.max_bars, **sampling_args(cfg, "abc")
    )
    lines, valid = folder.open(), 0
    for i, tune in enumerate(tunes):
        stem = folder.path / f"sample_{i:02d}"
        stem.with_suffix(".abc").write_text(tune + "\n", encoding="utf-8")
        book = read_abc_book(tune)  # valid: every token reads, in the written order
        if book.tunes and book.tunes[0].notes and not book.errors and not book.warnings:
            valid += 1
            # heard as a player plays it: repeats, endings and parts expanded
            played = read_abc_book(tune, expand_repeats=True).tunes[0]
            lines.append(write_sample(played, stem, None, cfg.audio).describe())
            folder.add(file=str(stem.with_suffix(".abc")), valid=True, notes=len(played.notes))
        else:
            problems = book.errors + book.warnings
            reason = problems[0].message if problems else "no notes"
            lines.append(f"{stem.name}: not a valid tune ({reason}) -> {stem.with_suffix('.abc')}")
            folder.add(file=str(stem.with_suffix(".abc")), valid=False, reason=reason)
    lines.append(f"valid ABC tunes: {valid} of {len(tunes)}")
    return lines


def sample_text(ck, cfg: DictConfig, folder: SampleFolder) -> list[str]:
    """Text checkpoints: continue the prompt (a string, or a text file) and print each sample.

    A sample adds at least one token, then stops at the end of a line (``<eos>``, a
    paragraph in WikiText) or after ``max_tokens`` tokens (100 by default for text). The
    printed text is the prompt as the model saw it (a word-level model shows its unknown
    words as ``<unk>``) followed by the continuation; each is also written to
    ``<out_dir>/sample_NN.txt``.
    """
    prompt = _text_prompt(str(cfg.prompt or ""), ck.path)
    _, samples = continue_text(ck.model, ck.tokenizer, prompt, **sampling_args(cfg, "text"))
    lines = folder.open()
    for i, (text, new) in enumerate(samples):
        path = folder.path / f"sample_{i:02d}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        folder.add(file=str(path), new_tokens=new)
        lines.append(f"--- sample {i} ({new} new tokens) -> {path}\n{text}")
    return lines


def _text_prompt(prompt: str, ckpt_path: Path) -> str:
    """A text checkpoint's prompt: the text itself, or the contents of a UTF-8 text file."""
    if not prompt or len(prompt) >= 256 or not Path(prompt).is_file():
        return prompt
    if Path(prompt).suffix.lower() in (".mid", ".midi"):
        raise UserError(
            f"prompt={prompt}: a MIDI file, but {ckpt_path} is a text model; give it text"
            " (a string or a .txt file)"
        )
    try:
        return Path(prompt).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise UserError(
            f"prompt={prompt}: not a UTF-8 text file (byte {err.start}); {ckpt_path} is a"
            " text model: give it text (a string or a .txt file)"
        ) from None


def _abc_prompt_text(path: str, bars: int | None) -> str:
    """The first tune of an ABC file: its header and, if asked, only its first bars."""
    text, name = load_abc_source(Path(path))  # the reader's own file handling
    try:
        return cut_abc_text(text, bars)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
