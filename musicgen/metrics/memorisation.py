"""Repetition inside a piece, and copying from the training set: both by bar content."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.metrics.bars import bar_spans
from musicgen.music.score import Score

# Ticks per quarter note for bar contents: holds every length ABC folk music writes
# (halvings to 1/256, triplets, quintuplets, septuplets), the note tokenizer's grids and
# MIDI's usual 480 ticks, so times on those grids are exact integers (fast to compare
# and hash); a time off the grid is floored to it.
TICKS = 2**8 * 3**3 * 5**2 * 7
BarContent = tuple[tuple[int, int, int], ...]


def _ticks(t: Fraction) -> int:
    return t.numerator * TICKS // t.denominator


def bar_contents(score: Score) -> list[BarContent]:
    """What each bar of the meter's grid holds, as a hashable value.

    Definition: the bars are those of :func:`~musicgen.metrics.bars.bar_spans` (from 0 to
    the bar of the last onset, the pickup bar first when there is one); a bar holds the
    sorted ``(pitch, onset - bar start, duration)`` of every pitched note whose onset lies
    in it, times in ``TICKS`` per quarter note. A note held over the bar line belongs to
    the bar where it starts. Velocity, program and drums are left out.
    """
    pitched = [n for n in score.notes if not n.is_drum]  # in onset order
    if not pitched:
        return []
    notes = [(_ticks(n.start), n.pitch, _ticks(n.duration)) for n in pitched]
    contents, i = [], 0
    for start, end in bar_spans(score, pitched[-1].start):
        first, last = _ticks(start), _ticks(end)
        held = []
        while i < len(notes) and notes[i][0] < last:
            onset, pitch, duration = notes[i]
            held.append((pitch, onset - first, duration))
            i += 1
        contents.append(tuple(sorted(held)))
    return contents


def repeated_bar_share(score: Score) -> float:
    """Share of the non-empty bars whose content equals that of an earlier bar.

    Content as in :func:`bar_contents` (pitches, onsets within the bar, durations: the
    same notes in the same rhythm). A tune of distinct bars played twice gives exactly
    0.5; empty bars count neither way. 0.0 for a score without pitched notes.
    """
    seen: set[BarContent] = set()
    repeated = total = 0
    for content in bar_contents(score):
        if not content:
            continue
        total += 1
        repeated += content in seen
        seen.add(content)
    return repeated / total if total else 0.0


def ngrams(score: Score, n_bars: int = 4) -> set[tuple[BarContent, ...]]:
    """The set of runs of ``n_bars`` consecutive bars of ``score``, by content.

    Each run is a tuple of :func:`bar_contents` values. Runs of empty bars only are left
    out. Transposition is not normalised: the same tune a tone higher shares no run, so
    a training set augmented by transposition should be indexed with its transposed
    copies if those count as "seen".
    """
    bars = bar_contents(score)
    runs = (tuple(bars[i : i + n_bars]) for i in range(len(bars) - n_bars + 1))
    return {run for run in runs if any(run)}


def run_hashes(score: Score, n_bars: int = 4) -> set[int]:
    """The hashes of :func:`ngrams` runs, computed fast: ``hash`` of the tuple of the
    hashes of the run's bars (each bar's notes are hashed once, not once per run)."""
    bars = [hash(content) if content else None for content in bar_contents(score)]
    runs = (tuple(bars[i : i + n_bars]) for i in range(len(bars) - n_bars + 1))
    return {hash(run) for run in runs if any(b is not None for b in run)}


def run_hash(run: tuple[BarContent, ...]) -> int:
    """The hash :func:`run_hashes` gives a run of bar contents."""
    return hash(tuple(hash(content) if content else None for content in run))


@dataclass
class NgramIndex:
    """The hashes of every ``n_bars``-bar run of a training set (see :func:`ngrams`).

    Build it from the scores as the model saw them (for note tokens,
    ``tokenizer.quantize(score)``; repeats in written order as the data module reads
    them), because runs match only when pitches, onsets and durations are exactly equal.
    Python's hash of these tuples of ints does not depend on the process
    (unlike a string's), and a 64-bit collision among a few million runs is negligible.
    """

    n_bars: int = 4
    hashes: set[int] = field(default_factory=set)

    @classmethod
    def from_scores(cls, scores: Iterable[Score], n_bars: int = 4) -> NgramIndex:
        """Index every run of ``n_bars`` bars of every score in ``scores``."""
        index = cls(n_bars)
        for score in scores:
            index.hashes |= run_hashes(score, n_bars)
        return index

    def __contains__(self, run: object) -> bool:
        """Whether a run of bar contents (an element of :func:`ngrams`) is indexed."""
        return isinstance(run, tuple) and run_hash(run) in self.hashes

    def __len__(self) -> int:
        return len(self.hashes)


def memorisation(samples: Score | Iterable[Score], index: NgramIndex) -> float:
    """Share of the samples' ``index.n_bars``-bar runs that occur in the training set.

    Definition: for each sample the set :func:`ngrams` (a run repeated inside one sample
    counts once); over several samples the runs are pooled, each sample's set counting
    separately. 1.0 for a copy of a training tune, 0.0 for music none of whose runs the
    training set has, and 0.0 as well when no sample is ``n_bars`` bars long.
    """
    if isinstance(samples, Score):
        samples = [samples]
    hits = total = 0
    for sample in samples:
        runs = run_hashes(sample, index.n_bars)
        hits += len(runs & index.hashes)
        total += len(runs)
    return hits / total if total else 0.0
