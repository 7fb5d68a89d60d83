"""Per-row stop criteria: end a sample after some bars or some seconds of music.

A criterion sees a row's prompt once (`start`) and then each new token (`update`); `update`
returns True at the first token that must NOT be kept: the row ends just before it. Ending
before the token that opens bar n + 1 is what leaves exactly n bars. The sampler copies the
criterion for every row, so the object passed in is never changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from musicgen.music.timeline import DEFAULT_QPM
from musicgen.tokenizers.vocab import BAR, POSITION, TEMPO, TIMESIG


class StopCriterion(Protocol):
    """What `generate(stop=...)` calls for each row."""

    def start(self, prompt: Sequence[int]) -> None:
        """Reads the row's prompt (meter, tempo) before the first new token."""

    def update(self, token_id: int) -> bool:
        """True when the row ends before `token_id`."""


class StopAfterBars:
    """Ends a row before its (n + 1)-th new bar line, so at most n new bars are generated.

    Bars of the prompt do not count: with a prompt that ends inside a bar, that bar is
    finished first, then n more follow. When bar tokens *open* a bar (note tokens: `Bar`
    comes before the bar's events) and the prompt ends with one, that empty bar is the
    first new bar, so n - 1 more follow (this is how a continuation starts on the bar line
    after its prompt, see ``musicgen.generation.continuation``).

    Args:
        bar_ids: The ids that mark a bar line (`Bar` for note tokens, `|` for ABC).
        n: Number of new bars to keep.
        opens_bar: Whether a bar id opens the bar that follows it (note tokens) rather than
            closing the one before it (ABC text).
    """

    def __init__(self, bar_ids: Sequence[int], n: int, opens_bar: bool = False) -> None:
        if n < 0:
            raise ValueError(f"the number of bars must be >= 0, got {n}")
        self.bar_ids = frozenset(int(i) for i in bar_ids)
        self.n = n
        self.opens_bar = opens_bar
        self.bars = 0

    @classmethod
    def for_tokenizer(cls, tokenizer, n: int) -> StopAfterBars:
        """A criterion for `NoteTokenizer` (`Bar` tokens) or for ABC characters (`|`)."""
        grammar = getattr(tokenizer, "grammar", None)
        if grammar is not None:
            bar_ids = [i for i, k in enumerate(grammar.vocab.kinds) if k == BAR]
        else:  # ABC text: every bar line holds a "|" (a "||" counts twice)
            bar_ids = [i for i, t in enumerate(tokenizer.vocab) if t == "|"]
        if not bar_ids:
            raise ValueError(f"{type(tokenizer).__name__} has no bar-line token")
        return cls(bar_ids, n, opens_bar=grammar is not None)

    def start(self, prompt: Sequence[int]) -> None:
        opened = self.opens_bar and len(prompt) > 0 and int(prompt[-1]) in self.bar_ids
        self.bars = int(opened)

    def update(self, token_id: int) -> bool:
        if token_id in self.bar_ids:
            self.bars += 1
        return self.bars > self.n


class StopAfterSeconds:
    """Ends a row before the first Bar or Position token that starts `seconds` or more
    after the start of the bar the prompt ends in (the start of the piece if the prompt has
    no Bar yet).

    Time comes from the grid: each Bar moves on by the length of the bar it closes (from the
    meter in force: the header's TimeSig, a TimeSig after a Bar, else 4/4), each Position
    adds its step, at the tempo of the last Tempo token (else 120 qpm). Notes may ring past
    the limit; an upbeat's short first bar counts as a full bar.

    Args:
        tokenizer: A `NoteTokenizer`.
        seconds: Length of music to generate.
    """

    def __init__(self, tokenizer, seconds: float) -> None:
        vocab = tokenizer.grammar.vocab
        self.kinds, self.values = vocab.kinds, vocab.values
        self.steps_per_quarter = vocab.settings.steps_per_quarter
        self.default_bar = vocab.settings.bar_steps((4, 4))
        self.seconds = seconds
        self.start([])

    def start(self, prompt: Sequence[int]) -> None:
        self.qpm, self.bar_len, self.origin, self.in_bar = DEFAULT_QPM, self.default_bar, 0, False
        for tid in prompt:
            self._advance(int(tid))
        self.origin = 0  # time counts from the bar the prompt ends in

    def update(self, token_id: int) -> bool:
        onset = self._advance(int(token_id))
        return onset is not None and self._seconds(onset) >= self.seconds

    def _advance(self, tid: int) -> int | None:
        """Reads one token; returns its onset in grid steps if it is a Bar or a Position."""
        kind, value = self.kinds[tid], int(self.values[tid])
        if kind == BAR:
            self.origin += self.bar_len if self.in_bar else 0
            self.in_bar = True
            return self.origin
        if kind == TIMESIG:
            self.bar_len = value  # a TimeSig's value is its bar length in steps
        elif kind == TEMPO:
            self.qpm = value
        elif kind == POSITION:
            return self.origin + value
        return None

    def _seconds(self, steps: int) -> float:
        return steps / self.steps_per_quarter * 60.0 / self.qpm
