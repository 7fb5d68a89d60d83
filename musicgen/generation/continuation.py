"""Continue a score with a note-token model: the one path the CLI and the W&B callback share."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import takewhile

from musicgen.generation.prompt import fit_to_range, join_continuation, prompt_end
from musicgen.generation.sampler import generate
from musicgen.generation.stopping import StopAfterBars, StopAfterSeconds
from musicgen.music import Score
from musicgen.music.timeline import bar_lines
from musicgen.tokenizers.vocab import BAR


def continue_score(
    model, tokenizer, prompt: Score | None, *, max_bars: int = 16,
    max_seconds: float | None = None, max_new_tokens: int = 2048, **sampling,
) -> tuple[list[Score], list[str]]:  # fmt: skip
    """Grammar-constrained continuations of ``prompt`` (or new pieces when it is None).

    Args:
        model: a backbone with ``forward(ids, state)``.
        tokenizer: the checkpoint's ``NoteTokenizer``.
        prompt: what to continue; notes outside the tokenizer's range are moved into it.
        max_bars: new bars per sample (ignored when ``max_seconds`` is given).
        max_seconds: stop after this much new music instead.
        max_new_tokens: a hard limit on new tokens per sample.
        **sampling: ``n_samples``, ``temperature``, ``top_k``, ``top_p``,
            ``repetition_penalty``, ``seed`` (see ``musicgen.generation.sampler.generate``).

    Returns:
        One score per sample — the prompt's notes unchanged, its tempo, meter, key and
        instruments, then the continuation — and warnings for the user.
    """
    ids, warnings = [tokenizer.bos_id], []
    if prompt is not None:
        prompt, warnings = fit_to_range(prompt, *tokenizer.settings.pitch_range)
        ids = tokenizer.encode(prompt)[:-1]  # without <eos>: the model goes on from there
        ids += [tokenizer.grammar.vocab.id(BAR, 0)] * bars_to_close(tokenizer.decode(ids))
    if max_seconds:
        stop = StopAfterSeconds(tokenizer, max_seconds)
    else:
        stop = StopAfterBars.for_tokenizer(tokenizer, max_bars)
    news = generate(
        model, ids, max_new_tokens=max_new_tokens, grammar=tokenizer.grammar,
        eos_id=tokenizer.eos_id, stop=stop, **sampling,
    )  # fmt: skip
    if prompt is None:
        return [tokenizer.decode(ids + new) for new in news], warnings
    seen = tokenizer.decode(ids)
    return [_joined(prompt, seen, tokenizer.decode(ids + new)) for new in news], warnings


def bars_to_close(seen: Score) -> int:
    """How many ``Bar`` tokens take a prompt's token stream to its :func:`prompt_end`.

    The encoded prompt stops inside the bar of its last onset, where the grammar would let
    the model add notes to the prompt's own last bar. Opening the bar that starts at the
    prompt's end (one more when the last notes ring over a bar line) makes the prompt's
    bars closed: every generated note starts at or after the end of the prompt.

    Args:
        seen: the prompt as the model sees it (``tokenizer.decode`` of its ids).
    """
    if not seen.notes:
        return 0
    last_onset = max(n.start for n in seen.notes)
    end = prompt_end(seen)
    lines = takewhile(lambda line: line <= end, bar_lines(seen))
    return sum(1 for line in lines if line > last_onset)


def _joined(prompt: Score, seen: Score, full: Score) -> Score:
    """The original prompt followed by the notes the model added to what it was shown."""
    added = Counter(full.notes) - Counter(seen.notes)
    offset = prompt_end(prompt)
    notes = [replace(n, start=n.start - offset) for n in full.notes if added[n] > 0]
    return join_continuation(prompt, Score(notes=notes))
