"""``musicgen-sample``: continue a MIDI or ABC prompt with a checkpoint; MIDI, WAV and PNG out."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from musicgen.cli.common import UserError, fail_cleanly
from musicgen.generation.continuation import (
    MAX_NEW_TOKENS,
    continue_abc,
    continue_score,
    continue_text,
)
from musicgen.generation.prompt import cut_prompt, load_prompt, prompt_end
from musicgen.generation.samples import write_sample
from musicgen.music import Score, write_midi
from musicgen.music.abc import read_abc_book
from musicgen.music.abc.cut import cut_abc_text
from musicgen.music.abc.source import load_abc_source
from musicgen.training.checkpoint import load_checkpoint, newest_last_checkpoint, safe_instantiate


@hydra.main(version_base="1.3", config_path="../conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    with fail_cleanly("musicgen-sample"):
        path = newest_last_checkpoint() if cfg.ckpt == "last" else cfg.ckpt
        ck = load_checkpoint(path)
        print(f"checkpoint: {path} (step {ck.step})")
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        runner = {"notes": sample_notes, "abc": sample_abc_text, "text": sample_text}
        for line in runner[ck.tokenizer.kind](ck, cfg, out):
            print(line)


def sampling_args(cfg: DictConfig, kind: str) -> dict:
    """The sampler's settings from a sampling config (``conf/sampling/default.yaml``)."""
    max_tokens = MAX_NEW_TOKENS[kind] if cfg.max_tokens is None else cfg.max_tokens
    return {
        "n_samples": cfg.n_samples, "max_new_tokens": max_tokens,
        "temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p,
        "repetition_penalty": cfg.repetition_penalty, "seed": cfg.seed,
    }  # fmt: skip


def sample_notes(ck, cfg: DictConfig, out: Path) -> list[str]:
    """Note-token checkpoints: grammar-constrained samples, each written as MIDI, WAV, PNG."""
    prompt, lines = None, []
    if cfg.prompt == "heldout":
        prompt, where = heldout_prompt(ck, out, cfg.prompt_bars, cfg.prompt_seconds)
        lines.append(f"prompt: {where}")
    elif cfg.prompt:
        prompt = load_prompt(cfg.prompt, cfg.prompt_bars, cfg.prompt_seconds)
    scores, warnings = continue_score(
        ck.model, ck.tokenizer, prompt, max_bars=cfg.max_bars, max_seconds=cfg.max_seconds,
        **sampling_args(cfg, "notes"),
    )  # fmt: skip
    lines += [f"warning: {w}" for w in warnings]
    end = None if prompt is None else prompt_end(prompt)
    for i, score in enumerate(scores):
        lines.append(write_sample(score, out / f"sample_{i:02d}", end, cfg.audio).describe())
    return lines


def heldout_prompt(ck, out: Path, bars: int | None, seconds: float | None) -> tuple[Score, str]:
    """The first test-split tune of the checkpoint's own corpus, cut, and written to ``out``."""
    data = safe_instantiate(ck.config.get("data"), ck.path, "data")
    data.prepare_data(progress=False)  # finds the cache the training run built
    (tune,) = data.tunes("test", 1)
    prompt = cut_prompt(tune, bars, seconds, source=f"held-out tune {tune.title!r}")
    path = out / "heldout_prompt.mid"
    write_midi(prompt, path)
    return prompt, f"{path} (the test tune {tune.title!r})"


def sample_abc_text(ck, cfg: DictConfig, out: Path) -> list[str]:
    """Character-level ABC checkpoints: each sample is a tune, read back with our reader."""
    text = _abc_prompt_text(cfg.prompt, cfg.prompt_bars) if cfg.prompt else ""
    tunes = continue_abc(
        ck.model, ck.tokenizer, text, max_bars=cfg.max_bars, **sampling_args(cfg, "abc")
    )
    lines, valid = [], 0
    for i, tune in enumerate(tunes):
        stem = out / f"sample_{i:02d}"
        stem.with_suffix(".abc").write_text(tune + "\n", encoding="utf-8")
        book = read_abc_book(tune)  # valid: every token reads, in the written order
        if book.tunes and book.tunes[0].notes and not book.errors and not book.warnings:
            valid += 1
            # heard as a player plays it: repeats, endings and parts expanded
            played = read_abc_book(tune, expand_repeats=True).tunes[0]
            lines.append(write_sample(played, stem, None, cfg.audio).describe())
        else:
            problems = book.errors + book.warnings
            reason = problems[0].message if problems else "no notes"
            lines.append(f"{stem.name}: not a valid tune ({reason}) -> {stem.with_suffix('.abc')}")
    lines.append(f"valid ABC tunes: {valid} of {len(tunes)}")
    return lines


def sample_text(ck, cfg: DictConfig, out: Path) -> list[str]:
    """Text checkpoints: continue the prompt (a string, or a text file) and print each sample.

    A sample stops at the end of a line (``<eos>``, a paragraph in WikiText) or after
    ``max_tokens`` tokens (100 by default for text). The printed text is the prompt as the
    model saw it (a word-level model shows its unknown words as ``<unk>``) followed by the
    continuation; each is also written to ``<out_dir>/sample_NN.txt``.
    """
    prompt = _text_prompt(str(cfg.prompt or ""), ck.path)
    _, samples = continue_text(ck.model, ck.tokenizer, prompt, **sampling_args(cfg, "text"))
    lines = []
    for i, (text, new) in enumerate(samples):
        path = out / f"sample_{i:02d}.txt"
        path.write_text(text + "\n", encoding="utf-8")
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


if __name__ == "__main__":
    main()
