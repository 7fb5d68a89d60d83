"""``musicgen-sample``: continue a MIDI or ABC prompt with a checkpoint; MIDI, WAV and PNG out."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from musicgen.checkpoint import load_checkpoint, newest_last_checkpoint
from musicgen.cli.common import fail_cleanly
from musicgen.continuation import continue_score
from musicgen.generate import generate
from musicgen.music import Score, write_midi
from musicgen.music.abc import read_abc_book, split_abc_tunes
from musicgen.music.abc.source import load_abc_source
from musicgen.prompt import cut_prompt, load_prompt, prompt_end
from musicgen.render import piano_roll, render_wav
from musicgen.sampling.stopping import StopAfterBars


@hydra.main(version_base="1.3", config_path="../conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    with fail_cleanly("musicgen-sample"):
        path = newest_last_checkpoint() if cfg.ckpt == "last" else cfg.ckpt
        ck = load_checkpoint(path)
        print(f"checkpoint: {path} (step {ck.step})")
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        kind = getattr(ck.tokenizer, "input_kind", "score")
        runner = sample_notes if kind == "score" else sample_abc_text
        for line in runner(ck, cfg, out):
            print(line)


def _sampling_args(cfg: DictConfig) -> dict:
    return {
        "n_samples": cfg.n_samples, "max_new_tokens": cfg.max_tokens,
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
        **_sampling_args(cfg),
    )  # fmt: skip
    lines += [f"warning: {w}" for w in warnings]
    end = None if prompt is None else prompt_end(prompt)
    for i, score in enumerate(scores):
        lines.append(_write_sample(score, out / f"sample_{i:02d}", end, cfg.audio))
    return lines


def heldout_prompt(ck, out: Path, bars: int | None, seconds: float | None) -> tuple[Score, str]:
    """The first test-split tune of the checkpoint's own corpus, cut, and written to ``out``."""
    data = instantiate(ck.config["data"], _convert_="all")
    data.prepare_data(progress=False)  # finds the cache the training run built
    (tune,) = data.tunes("test", 1)
    prompt = cut_prompt(tune, bars, seconds, source=f"held-out tune {tune.title!r}")
    path = out / "heldout_prompt.mid"
    write_midi(prompt, path)
    return prompt, f"{path} (the test tune {tune.title!r})"


def _write_sample(score: Score, stem: Path, prompt_at, audio: bool) -> str:
    write_midi(score, stem.with_suffix(".mid"))
    piano_roll(score, stem.with_suffix(".png"), prompt_end=prompt_at, title=stem.name)
    written = [stem.with_suffix(".mid"), stem.with_suffix(".png")]
    if audio:
        engine = render_wav(score, stem.with_suffix(".wav"))
        written.append(f"{stem.with_suffix('.wav')} ({engine})")
    return f"{stem.name}: {len(score.notes)} notes -> " + ", ".join(map(str, written))


def sample_abc_text(ck, cfg: DictConfig, out: Path) -> list[str]:
    """Character-level ABC checkpoints: each sample is a tune, read back with our reader."""
    tok = ck.tokenizer
    text = _abc_prompt_text(cfg.prompt, cfg.prompt_bars) if cfg.prompt else ""
    ids = tok.encode(text)[:-1] if text else [tok.bos_id]
    stop = StopAfterBars.for_tokenizer(tok, cfg.max_bars)
    news = generate(ck.model, ids, eos_id=tok.eos_id, stop=stop, **_sampling_args(cfg))
    lines, valid = [], 0
    for i, new in enumerate(news):
        tune = text + tok.decode(new)
        stem = out / f"sample_{i:02d}"
        stem.with_suffix(".abc").write_text(tune + "\n", encoding="utf-8")
        book = read_abc_book(tune)
        if book.tunes and book.tunes[0].notes and not book.errors:
            valid += 1
            lines.append(_write_sample(book.tunes[0], stem, None, cfg.audio))
        else:
            reason = book.errors[0].message if book.errors else "no notes"
            lines.append(f"{stem.name}: not a valid tune ({reason}) -> {stem.with_suffix('.abc')}")
    lines.append(f"valid ABC tunes: {valid} of {len(news)}")
    return lines


def _abc_prompt_text(path: str, bars: int | None) -> str:
    """The first tune of an ABC file: its header and, if asked, only its first bars."""
    text, name = load_abc_source(Path(path))  # the reader's own file handling
    tunes = split_abc_tunes(text)
    if not tunes:
        raise ValueError(f"{name}: no ABC tune in the prompt file")
    head, _, body = tunes[0].text.partition("\nK:")
    key_line, _, body = body.partition("\n")
    header = f"{head}\nK:{key_line}\n"
    if bars is None:
        return header + body
    return header + "|".join(body.split("|")[: bars + 1]) + "|"


if __name__ == "__main__":
    main()
