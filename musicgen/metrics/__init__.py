"""Musical metrics of generated scores, and of a generated set against real music.

Never imports torch. Per score: :func:`bar_correctness`, :func:`in_key_ratio`,
:func:`estimate_key`, :func:`note_density`, :func:`pitch_range`,
:func:`repeated_bar_share`. Per set: :func:`valid_rate`, the pooled :func:`histograms`
compared by :func:`overlap_area` and :func:`kl_divergence` (Yang & Lerch 2020),
:func:`memorisation` against a training :class:`NgramIndex`, the classifier two-sample
test :func:`classifier_two_sample`, and all of them at once in :func:`score_set`;
:func:`plot_histograms` draws the histograms of two sets.
"""

from musicgen.metrics.abc_bars import written_bars
from musicgen.metrics.bars import Bar, bar_correct_rate, bar_correctness, grid_bars, melodic_line
from musicgen.metrics.classifier import classifier_two_sample, ngram_counts, wilson_interval
from musicgen.metrics.histograms import (
    HISTOGRAM_BINS,
    duration_histogram,
    histograms,
    interval_histogram,
    kl_divergence,
    overlap_area,
    pitch_class_histogram,
)
from musicgen.metrics.memorisation import (
    NgramIndex,
    bar_contents,
    memorisation,
    ngrams,
    repeated_bar_share,
)
from musicgen.metrics.pitch import (
    NoPitchedNotesError,
    estimate_key,
    in_key_ratio,
    note_density,
    pitch_range,
    scale_pitch_classes,
)
from musicgen.metrics.plot import plot_histograms
from musicgen.metrics.report import compare_histograms, is_valid, score_set, valid_rate

__all__ = [
    "HISTOGRAM_BINS",
    "Bar",
    "NgramIndex",
    "NoPitchedNotesError",
    "bar_contents",
    "bar_correct_rate",
    "bar_correctness",
    "classifier_two_sample",
    "compare_histograms",
    "duration_histogram",
    "estimate_key",
    "grid_bars",
    "histograms",
    "in_key_ratio",
    "interval_histogram",
    "is_valid",
    "kl_divergence",
    "melodic_line",
    "memorisation",
    "ngram_counts",
    "ngrams",
    "note_density",
    "overlap_area",
    "pitch_class_histogram",
    "pitch_range",
    "plot_histograms",
    "repeated_bar_share",
    "scale_pitch_classes",
    "score_set",
    "valid_rate",
    "wilson_interval",
    "written_bars",
]
