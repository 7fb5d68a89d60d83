"""What the studio page does with one press of "Generate", without the page itself.

A :class:`StudioSession` holds a loaded model and its tokenizer, turns a
:class:`StudioRequest` (the page's fields) into a prompt, continues it through
:mod:`musicgen.generation.continuation` (the same path as ``musicgen-sample``) and writes each
sample's files with :func:`musicgen.generation.samples.write_sample`. No Gradio here: the
page (``musicgen/cli/studio_page.py``) only shows what this returns, and tests and the
benchmark can call it directly.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

from musicgen.generation.attention_maps import attention_pictures
from musicgen.generation.continuation import (
    MAX_NEW_TOKENS,
    continue_abc,
    continue_score,
    continue_text,
)
from musicgen.generation.harmonize import write_harmonies
from musicgen.generation.prompt import PromptError, cut_prompt, load_prompt, prompt_end
from musicgen.generation.samples import write_sample
from musicgen.models.transformer import TransformerLM
from musicgen.music import MusicFormatError, Score
from musicgen.music.abc import read_abc_book
from musicgen.music.abc.cut import cut_abc_text
from musicgen.music.abc.source import load_abc_source
from musicgen.tokenizers.harmony import HarmonyInputError, n_beats

# An upload larger than any real prompt (the largest MIDI file of shared/data is ~200 kB):
# refused before it is read, so a huge file costs no parsing.
MAX_UPLOAD_BYTES = 2_000_000
# Prompt tokens the studio feeds the model. A folk tune bar is ~20-60 note tokens, so this
# holds ~30-100 bars; past it the prefill alone would keep the page waiting for long.
MAX_PROMPT_TOKENS = 2048
MAX_SAMPLES = 4  # the page shows this many sample slots
SHOWN_CHORDS = 32  # a harmonisation's chords listed on the page (one per beat)


class StudioError(ValueError):
    """A request the page cannot serve (a bad upload, a prompt too long): one line to show."""


@dataclass
class StudioRequest:
    """The page's fields. ``prompt_file`` wins over ``heldout``; with neither, no prompt."""

    prompt_file: str | None = None
    heldout: str | None = None
    prompt_bars: int | None = 4
    text: str = ""
    max_bars: int = 16
    n_samples: int = 1
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = 0.95
    repetition_penalty: float = 1.0
    seed: int | None = 0
    attention: bool = False  # draw each sample's self-attention (note-token Transformers)

    def sampling(self, kind: str) -> dict:
        """The sampler's keyword arguments (``continue_*``'s ``**sampling``)."""
        return {
            "n_samples": self.n_samples, "temperature": self.temperature,
            "top_k": self.top_k or None, "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty, "seed": self.seed,
            "max_new_tokens": MAX_NEW_TOKENS[kind],
        }  # fmt: skip


@dataclass
class StudioSample:
    """One sample as the page shows it; paths are None when there is nothing to show."""

    name: str
    wav: Path | None = None
    png: Path | None = None
    downloads: list[Path] = field(default_factory=list)
    text: str = ""
    attention: list[Path] = field(default_factory=list)  # one picture per layer


@dataclass
class StudioResult:
    """What one request produced: the samples and the lines to show above them."""

    samples: list[StudioSample]
    messages: list[str]


class StudioSession:
    """A checkpoint's model and tokenizer, ready to serve requests from several threads.

    Note, ABC and text models continue a prompt; a harmoniser (``kind == "harmony"``)
    writes chords for an uploaded melody, through ``musicgen-sample``'s own
    :func:`~musicgen.generation.harmonize.write_harmonies`.

    Args:
        model: the backbone (eval mode); only read, so threads can share it.
        tokenizer: its tokenizer; ``tokenizer.kind`` chooses notes, ABC or text.
        out_dir: where each request writes its files, in a folder of its own.
        heldout: prompts to choose by title (held-out tunes of the checkpoint's corpus).
    """

    def __init__(self, model, tokenizer, out_dir: Path, heldout: dict[str, Score] | None = None):
        self.model, self.tokenizer, self.kind = model, tokenizer, tokenizer.kind
        self.out_dir, self.heldout = Path(out_dir), dict(heldout or {})
        self._counter, self._lock = itertools.count(), threading.Lock()
        # what musicgen-sample attention=true draws: a decoder-only Transformer's weights
        self.has_attention = self.kind == "notes" and isinstance(model, TransformerLM)

    def run(self, request: StudioRequest, progress=None) -> StudioResult:
        """Serve one request; ``progress(fraction, description)`` is told each stage.

        Raises:
            StudioError: for a bad upload, an unknown held-out title or a prompt too long.
        """
        report = progress or (lambda fraction, desc: None)
        if not 1 <= request.n_samples <= MAX_SAMPLES:
            raise StudioError(f"number of samples must be 1..{MAX_SAMPLES}")
        if request.attention and not self.has_attention:
            raise StudioError("this model has no self-attention to draw (not a note Transformer)")
        out = self._request_dir()
        if self.kind == "text":
            return self._run_text(request, report)
        if self.kind == "abc":
            return self._run_abc(request, out, report)
        if self.kind == "harmony":
            return self._run_harmony(request, out, report)
        return self._run_notes(request, out, report)

    def _request_dir(self) -> Path:
        with self._lock:  # two requests at once never share a folder
            n = next(self._counter)
        out = self.out_dir / f"request_{n:04d}"
        out.mkdir(parents=True, exist_ok=True)
        return out

    def _run_notes(self, request: StudioRequest, out: Path, report) -> StudioResult:
        report(0.0, "reading the prompt")
        prompt, messages = self.note_prompt(request)
        report(0.1, f"sampling {request.n_samples} x {request.max_bars} bars")
        scores, warnings = continue_score(
            self.model, self.tokenizer, prompt, max_bars=request.max_bars,
            **request.sampling("notes"),
        )  # fmt: skip
        messages += [f"warning: {w}" for w in warnings]
        end = None if prompt is None else prompt_end(prompt)
        samples = []
        for i, score in enumerate(scores):
            report(0.7 + 0.3 * i / len(scores), f"rendering sample {i + 1}")
            stem = out / f"sample_{i + 1}"
            written = write_sample(score, stem, end)
            pictures = (
                attention_pictures(self.model, self.tokenizer.encode(score), stem)
                if request.attention
                else []
            )
            samples.append(StudioSample(stem.name, written.wav, written.png, [written.midi],
                                        attention=pictures))  # fmt: skip
            messages.append(f"sample {i + 1}: {written.notes} notes")
        return StudioResult(samples, messages)

    def note_prompt(self, request: StudioRequest) -> tuple[Score | None, list[str]]:
        """The request's prompt Score (or None) and a line saying what it is."""
        bars = request.prompt_bars or None
        if request.prompt_file:
            path = _checked_upload(request.prompt_file)
            try:
                prompt = load_prompt(path, bars)
            except PromptError as err:
                raise StudioError(_named(err, path)) from None
            where = f"the uploaded file {path.name}"
        elif request.heldout:
            if request.heldout not in self.heldout:
                raise StudioError(f"no held-out tune titled {request.heldout!r}")
            where = f"the held-out tune {request.heldout!r}"
            try:
                prompt = cut_prompt(self.heldout[request.heldout], bars, source=where)
            except PromptError as err:
                raise StudioError(str(err)) from None
        else:
            return None, ["prompt: none (new pieces)"]
        self._check_length(prompt, where)
        shown = f"its first {bars} bar(s)" if bars else "all of it"
        return prompt, [f"prompt: {where}, {shown} ({len(prompt.notes)} notes)"]

    def _check_length(self, prompt: Score, where: str) -> None:
        try:
            n = len(self.tokenizer.encode(prompt))
        except MusicFormatError as err:
            raise StudioError(f"{where}: {err}") from None
        if n > MAX_PROMPT_TOKENS:
            raise StudioError(
                f"{where}: the prompt is {n} tokens, too long for the model (at most "
                f"{MAX_PROMPT_TOKENS}); choose fewer prompt bars"
            )

    def _run_abc(self, request: StudioRequest, out: Path, report) -> StudioResult:
        report(0.0, "reading the prompt")
        text, messages = "", ["prompt: none (new tunes)"]
        if request.prompt_file:
            path = _checked_upload(request.prompt_file)
            if not path.name.lower().endswith((".abc", ".abc.gz")):
                raise StudioError(f"{path.name}: this model writes ABC; upload an .abc file")
            try:
                text = cut_abc_text(load_abc_source(path)[0], request.prompt_bars or None)
            except (ValueError, OSError) as err:
                raise StudioError(f"{path.name}: {err}") from None
            messages = [f"prompt: the uploaded file {path.name}"]
        report(0.1, f"sampling {request.n_samples} tune(s)")
        tunes = continue_abc(
            self.model, self.tokenizer, text, max_bars=request.max_bars,
            **request.sampling("abc"),
        )  # fmt: skip
        samples = [self._abc_sample(tune, out / f"sample_{i + 1}", messages)
                   for i, tune in enumerate(tunes)]  # fmt: skip
        return StudioResult(samples, messages)

    def _abc_sample(self, tune: str, stem: Path, messages: list[str]) -> StudioSample:
        """A generated ABC tune: its text always, and MIDI, roll and audio when it reads."""
        abc = stem.with_suffix(".abc")
        abc.write_text(tune + "\n", encoding="utf-8")
        book = read_abc_book(tune, expand_repeats=True)  # heard as a player plays it
        if not (book.tunes and book.tunes[0].notes) or book.errors:
            reason = book.errors[0].message if book.errors else "no notes"
            messages.append(f"{stem.name}: not a valid tune ({' '.join(reason.split())})")
            return StudioSample(stem.name, downloads=[abc], text=tune)
        written = write_sample(book.tunes[0], stem, None)
        messages.append(f"{stem.name}: {written.notes} notes")
        return StudioSample(stem.name, written.wav, written.png, [written.midi, abc], tune)

    def _run_text(self, request: StudioRequest, report) -> StudioResult:
        report(0.1, f"sampling {request.n_samples} continuation(s)")
        shown, samples = continue_text(
            self.model, self.tokenizer, request.text, **request.sampling("text")
        )
        result = [StudioSample(f"sample_{i + 1}", text=text) for i, (text, _) in enumerate(samples)]
        return StudioResult(result, [f"prompt as the model reads it: {shown!r}"])

    def _run_harmony(self, request: StudioRequest, out: Path, report) -> StudioResult:
        report(0.0, "reading the melody")
        if not request.prompt_file:
            raise StudioError("this model is a harmoniser: upload a melody (.mid, .midi or .abc)")
        path = _checked_upload(request.prompt_file)
        try:
            melody = load_prompt(path)
        except PromptError as err:
            raise StudioError(_named(err, path)) from None
        beats = n_beats(melody)
        messages = [
            f"melody: the uploaded file {path.name} ({len(melody.notes)} notes, {beats} beats)"
        ]
        if beats > self.tokenizer.max_beats:
            messages.append(
                f"warning: the model harmonises its first {self.tokenizer.max_beats} beats only"
            )
        report(0.1, f"harmonising, {request.n_samples} sample(s)")
        try:  # the first greedy, the others sampled: as musicgen-sample does
            written = write_harmonies(
                self.model, self.tokenizer, melody, path.name, out, request.n_samples,
                random.randrange(2**31) if request.seed is None else request.seed,
                request.temperature,
            )  # fmt: skip
        except HarmonyInputError as err:
            raise StudioError(str(err)) from None
        samples = []
        for i, h in enumerate(written):
            names = " ".join(c.name if c else "N" for c in h.chords[:SHOWN_CHORDS])
            more = " …" if len(h.chords) > SHOWN_CHORDS else ""
            messages.append(f"sample {i + 1} ({h.how}), chords per beat: {names}{more}")
            samples.append(StudioSample(f"sample_{i + 1}", h.wav, h.png, [h.midi],
                                        attention=[h.attention]))  # fmt: skip
        return StudioResult(samples, messages)


def _checked_upload(name: str) -> Path:
    """The uploaded file's path, refused when it is missing or too large to be a prompt."""
    path = Path(name)
    if not path.is_file():
        raise StudioError(f"{path.name}: the upload did not arrive; upload it again")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise StudioError(
            f"{path.name}: {size:,} bytes, larger than a prompt can be ({MAX_UPLOAD_BYTES:,})"
        )
    return path


def _named(err: PromptError, path: Path) -> str:
    """The prompt error with the upload's own name instead of the server's temporary path."""
    return str(err).replace(str(path), path.name)
