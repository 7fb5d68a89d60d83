"""One summary of a generated set against real music: :func:`score_set`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from statistics import fmean

from musicgen.metrics.bars import Bar, bar_correct_rate
from musicgen.metrics.classifier import classifier_two_sample
from musicgen.metrics.histograms import histograms, kl_divergence, overlap_area
from musicgen.metrics.memorisation import NgramIndex, memorisation, repeated_bar_share
from musicgen.metrics.pitch import in_key_ratio, note_density, pitch_range, pitched
from musicgen.music.score import Score

Sample = Score | None | BaseException


def is_valid(item: Sample) -> bool:
    """A sample is valid when it decoded to a Score with at least one note."""
    return isinstance(item, Score) and bool(item.notes)


def valid_rate(items: Iterable[Sample]) -> float:
    """Share of the samples that decoded to a non-empty Score.

    Args:
        items: one entry per sample: its Score, or None or the exception raised when it
            could not be decoded (for char-level ABC, what ``read_abc`` gave: an empty
            list there is a None here). An empty Score counts as invalid.

    Returns:
        valid / all, in [0, 1]; 0.0 for no samples.
    """
    items = list(items)
    return sum(map(is_valid, items)) / len(items) if items else 0.0


def compare_histograms(
    generated: dict[str, list[float]], reference: dict[str, list[float]]
) -> dict[str, float]:
    """``{name}_overlap`` and ``{name}_kl`` for each histogram of :func:`histograms`.

    Overlap is :func:`overlap_area`; KL is ``KL(reference || generated)``
    (:func:`kl_divergence`).
    """
    out = {}
    for name, ref in reference.items():
        out[f"{name}_overlap"] = overlap_area(generated[name], ref)
        out[f"{name}_kl"] = kl_divergence(ref, generated[name])
    return out


def _mean(scores: Sequence[Score], metric: Callable[[Score], float]) -> float | None:
    return fmean(metric(s) for s in scores) if scores else None


def score_set(
    samples: Sequence[Sample],
    reference: Sequence[Score],
    train_index: NgramIndex | None = None,
    written_bars: Sequence[Sequence[Bar] | None] | None = None,
) -> dict[str, float | None]:
    """All set-level metrics of ``samples``, against the real tunes of ``reference``.

    Args:
        samples: one entry per generated sample (see :func:`valid_rate`).
        reference: real music to compare the histograms with (e.g. the validation split).
        train_index: the training split's runs, for ``memorisation``; None leaves it None.
        written_bars: for ABC samples, one entry per sample with its
            :func:`~musicgen.metrics.abc_bars.written_bars`; then ``bar_correct`` judges
            the bars as written instead of the Score's bar grid.

    Returns:
        ``n_samples``, ``n_valid``, ``valid_rate``; ``bar_correct`` (correct bars over
        judged bars, pooled over the valid samples); the means over the valid samples
        with pitched notes of ``in_key``, ``note_density``, ``pitch_range`` and
        ``repeated_bars``; ``{pitch_class,duration,interval}_{overlap,kl}`` between the
        valid samples' pooled histograms and the reference's; ``memorisation`` over the
        valid samples (runs pooled); ``classifier_accuracy`` and its 95% Wilson interval
        ``classifier_ci`` (``[low, high]``) of :func:`classifier_two_sample` between the
        valid samples and the reference (0.5: it cannot tell them apart). A value that
        cannot be computed (no sample, no valid sample, no real reference notes, no index,
        fewer than 4 pieces for the classifier) is None, never NaN.
    """
    valid_at = [i for i, s in enumerate(samples) if is_valid(s)]
    valid: list[Score] = [samples[i] for i in valid_at]  # type: ignore[misc]
    tuned = [s for s in valid if pitched(s)]
    bars = valid if written_bars is None else [written_bars[i] or [] for i in valid_at]
    result: dict[str, float | None] = {
        "n_samples": len(samples),
        "n_valid": len(valid),
        "valid_rate": valid_rate(samples) if samples else None,
        "bar_correct": bar_correct_rate(bars),
        "in_key": _mean(tuned, in_key_ratio),
    }
    names = ("pitch_class", "duration", "interval")
    if tuned and any(pitched(s) for s in reference):
        result |= compare_histograms(histograms(tuned), histograms(reference))
    else:
        result |= {f"{n}_{kind}": None for n in names for kind in ("overlap", "kl")}
    copied = memorisation(tuned, train_index) if train_index is not None and tuned else None
    result |= {
        "note_density": _mean(tuned, note_density),
        "pitch_range": _mean(tuned, pitch_range),
        "repeated_bars": _mean(tuned, repeated_bar_share),
        "memorisation": copied,
    }
    told = classifier_two_sample(tuned, [s for s in reference if pitched(s)])
    result["classifier_accuracy"] = None if told is None else told.accuracy
    result["classifier_ci"] = None if told is None else list(told.ci)
    return result
