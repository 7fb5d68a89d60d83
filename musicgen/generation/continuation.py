"""Continuations, one function per kind of run (``tokenizer.kind``): the one path that
``musicgen-sample``, the training callback, ``musicgen-eval`` and the studio share.

- ``notes``: :func:`continue_score` (a prompt Score, or nothing) and :func:`continue_tune`
  (a tune cut to its first bars, continued, and the new bars alone);
- ``abc``: :func:`continue_abc` (ABC text as characters) and :func:`continue_abc_tune`;
- ``text``: :func:`continue_text`.

Each stops at a hard cap of new tokens, ``MAX_NEW_TOKENS[kind]`` unless given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import takewhile

from musicgen.generation.prompt import fit_to_range, join_continuation, prompt_end
from musicgen.generation.sampler import generate
from musicgen.generation.stopping import StopAfterBars, StopAfterSeconds
from musicgen.music import Score
from musicgen.music.abc.cut import cut_abc_text
from musicgen.music.edit import tail, truncate
from musicgen.music.timeline import bar_line_after, bar_lines
from musicgen.tokenizers.vocab import BAR

# Hard caps on new tokens per sample: a note-token bar of a folk tune takes ~20-60 tokens,
# an ABC bar ~10-30 characters; text stops at the end of its line long before 100 words.
MAX_NEW_TOKENS = {"notes": 2048, "abc": 4096, "text": 100}


def continue_score(
    model, tokenizer, prompt: Score | None, *, max_bars: int = 16,
    max_seconds: float | None = None, max_new_tokens: int = MAX_NEW_TOKENS["notes"],
    report: list | None = None, **sampling,
) -> tuple[list[Score], list[str]]:  # fmt: skip
    """Grammar-constrained continuations of ``prompt`` (or new pieces when it is None).

    Args:
        model: a backbone with ``forward(ids, state)``.
        tokenizer: the checkpoint's ``NoteTokenizer``.
        prompt: what to continue; notes outside the tokenizer's range are moved into it.
        max_bars: new bars per sample (ignored when ``max_seconds`` is given).
        max_seconds: stop after this much new music instead.
        max_new_tokens: a hard limit on new tokens per sample.
        report: when a list, one dict per sample is appended to it: ``new_tokens`` and why
            the sample ``stopped`` (see :func:`stop_reason`).
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
    if report is not None:
        limit = f"max_seconds={max_seconds}" if max_seconds else f"max_bars={max_bars}"
        for new in news:
            stopped = stop_reason(new, tokenizer.eos_id, max_new_tokens, limit)
            report.append({"new_tokens": len(new), "stopped": stopped})
    if prompt is None:
        return [tokenizer.decode(ids + new) for new in news], warnings
    seen = tokenizer.decode(ids)
    return [_joined(prompt, seen, tokenizer.decode(ids + new)) for new in news], warnings


def stop_reason(new: list[int], eos_id: int, max_new_tokens: int, limit: str) -> str:
    """Why a sample ended: the model wrote ``<eos>`` (the piece is over), it reached the
    token cap, or the length it was asked for (``limit``, e.g. ``max_bars=16``)."""
    if new and new[-1] == eos_id:
        return "<eos>: the model ended the piece"
    if len(new) >= max_new_tokens:
        return f"the token cap (max_tokens={max_new_tokens})"
    return limit


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


def continue_tune(
    model, tokenizer, tune: Score, prompt_bars: int, *, max_bars: int, **sampling
) -> tuple[Score, Score, Score]:
    """A tune cut to its first ``prompt_bars`` bars, continued for ``max_bars`` bars.

    Returns:
        The prompt, the whole continued piece (one sample), and its new bars alone, timed
        from 0 at the prompt's end (what the musical metrics score).
    """
    prompt = truncate(tune, bar_line_after(tune, prompt_bars))
    (full,), _ = continue_score(model, tokenizer, prompt, max_bars=max_bars, **sampling)
    return prompt, full, tail(full, prompt_end(prompt))


def continue_abc(
    model, tokenizer, prompt_text: str = "", *, max_bars: int = 16,
    max_new_tokens: int = MAX_NEW_TOKENS["abc"], **sampling,
) -> list[str]:  # fmt: skip
    """ABC-character continuations of ``prompt_text`` (a tune's header and first bars, or
    nothing for new tunes): each sample's whole text, prompt included.

    A sample ends after ``max_bars`` new bar lines, at ``<eos>`` or at the token cap.
    """
    ids = tokenizer.encode(prompt_text)[:-1] if prompt_text else [tokenizer.bos_id]
    stop = StopAfterBars.for_tokenizer(tokenizer, max_bars)
    news = generate(
        model, ids, eos_id=tokenizer.eos_id, stop=stop, max_new_tokens=max_new_tokens, **sampling
    )
    return [prompt_text + tokenizer.decode(new) for new in news]


def continue_abc_tune(
    model, tokenizer, text: str, prompt_bars: int, *, max_bars: int, **sampling
) -> tuple[str, str]:
    """An ABC tune's text cut to its first ``prompt_bars`` written bars and continued:
    ``(prompt text, continued text)`` of one sample."""
    prompt_text = cut_abc_text(text, prompt_bars)
    (full,) = continue_abc(
        model, tokenizer, prompt_text, max_bars=max_bars, **{**sampling, "n_samples": 1}
    )
    return prompt_text, full


def continue_text(
    model, tokenizer, prompt: str = "", *, max_new_tokens: int = MAX_NEW_TOKENS["text"],
    **sampling,
) -> tuple[str, list[tuple[str, int]]]:  # fmt: skip
    """Text continuations of ``prompt``: the prompt as the model saw it (a word model shows
    its unknown words as ``<unk>``) and, per sample, (whole text, new tokens).

    A sample adds at least one token, then stops at the end of its line (``<eos>``) or
    at the token cap.
    """
    ids = tokenizer.encode(prompt.rstrip("\n") if prompt else "\n")
    if prompt and ids and ids[-1] == tokenizer.eos_id:
        ids = ids[:-1]  # the prompt's line goes on: no end of line yet
    news = generate(model, ids, eos_id=tokenizer.eos_id, max_new_tokens=max_new_tokens,
                    min_new_tokens=1, **sampling)  # fmt: skip
    shown = tokenizer.decode(ids).strip("\n")
    return shown, [(tokenizer.decode([*ids, *new]).strip("\n"), len(new)) for new in news]
