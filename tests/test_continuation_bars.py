"""A continuation never writes inside its prompt: the prompt's bars are closed, new notes
start on the bar line after it, in every meter, with and without an upbeat."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest
import torch
from conftest import SHARED_DATA

from musicgen.data.sources import music21_corpus_dir
from musicgen.generation.continuation import continue_score
from musicgen.generation.prompt import cut_prompt, prompt_end
from musicgen.models import TransformerLM
from musicgen.music import read_abc, read_midi, write_midi
from musicgen.music.timeline import bar_lines
from musicgen.tokenizers import NoteTokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ESSEN = music21_corpus_dir() / "essenFolksong"


def _tunes_by_meter_and_pickup(books: list) -> list:
    """One real tune for each (meter, has an upbeat) pair in ``books`` (ABC or MIDI)."""
    picked = {}
    for book in books:
        tunes = [read_midi(book)] if book.suffix == ".mid" else read_abc(book)
        for tune in tunes:
            if not tune.time_signatures:  # free meter: no bar lines to keep
                continue
            ts = tune.time_signatures[0]
            key = (f"{ts.numerator}/{ts.denominator}", tune.pickup > 0)
            if key not in picked and len(list(_bars(tune, 6))) == 6:
                picked[key] = tune
    return [picked[k] for k in sorted(picked)]


def _bars(tune, n):
    for i, line in enumerate(bar_lines(tune)):
        if i == n or line >= tune.end:
            return
        yield line


TUNES = _tunes_by_meter_and_pickup(sorted(ESSEN.glob("*.abc"))[:12])
# the shared corpora's meters too: the lab's irish.abc, Nottingham as ABC and as MIDI
SHARED_BOOKS = [
    SHARED_DATA / "abc" / "irish.abc", *sorted((SHARED_DATA / "abc" / "nottingham").glob("*.abc")),
    *sorted((SHARED_DATA / "midi" / "nottingham" / "melody").glob("*.mid"))[::25],
]  # fmt: skip


@pytest.fixture(scope="module")
def model_and_tok():
    tok = NoteTokenizer()
    torch.manual_seed(0)
    model = TransformerLM(tok.vocab_size, d_model=32, n_layers=1, n_heads=2, max_len=512,
                          dropout=0.0).eval()  # fmt: skip
    return model, tok


def test_the_tunes_cover_meters_with_and_without_upbeats():
    kinds = {(t.time_signatures[0].numerator, t.time_signatures[0].denominator) for t in TUNES}
    assert len(kinds) >= 4 and {t.pickup > 0 for t in TUNES} == {True, False}


def _assert_prompt_kept(prompt, samples, tok):
    end = prompt_end(prompt)
    kept = Counter((n.pitch, n.start, n.duration) for n in tok.quantize(prompt).notes)
    for i, score in enumerate(samples):
        before = Counter((n.pitch, n.start, n.duration) for n in score.notes if n.start < end)
        assert before == kept, f"sample {i}: notes before the prompt's end {end} changed"
    assert any(len(s.notes) > len(prompt.notes) for s in samples), "nothing was continued"


@pytest.mark.parametrize("tune", TUNES, ids=lambda t: f"{t.time_signatures[0]}-{t.title[:20]}")
def test_new_notes_start_after_the_prompt_in_every_meter(model_and_tok, tune):
    model, tok = model_and_tok
    for bars in (2, 3):
        prompt = cut_prompt(tune, prompt_bars=bars)
        samples, _ = continue_score(model, tok, prompt, max_bars=2, n_samples=4, seed=bars)
        _assert_prompt_kept(prompt, samples, tok)


def test_a_midi_prompt_without_its_upbeat_is_kept_too(model_and_tok, tmp_path):
    """MIDI has no upbeat: bars count from time 0, and the prompt still comes back whole."""
    model, tok = model_and_tok
    tune = next(t for t in TUNES if t.pickup > 0)
    path = write_midi(tune, tmp_path / "tune.mid")
    prompt = cut_prompt(read_midi(path), prompt_bars=4)
    assert prompt.pickup == 0
    samples, _ = continue_score(model, tok, prompt, max_bars=2, n_samples=8, seed=1)
    _assert_prompt_kept(prompt, samples, tok)


def test_max_bars_counts_the_bars_after_the_prompt(model_and_tok):
    model, tok = model_and_tok
    tune = next(t for t in TUNES if t.pickup > 0)
    prompt = cut_prompt(tune, prompt_bars=2)
    end, bar = prompt_end(prompt), prompt.time_signature_at(prompt_end(prompt)).bar_length
    samples, _ = continue_score(model, tok, prompt, max_bars=3, n_samples=8, seed=2)
    for score in samples:
        new = [n for n in score.notes if n.start >= end]
        assert new and max(n.start for n in new) < end + 3 * bar
    assert any(max(n.start for n in s.notes) >= end + 2 * bar for s in samples)
    assert all(isinstance(n.start, Fraction) for s in samples for n in s.notes)


@pytest.fixture(scope="module")
def shared_tunes(shared_data) -> list:
    return _tunes_by_meter_and_pickup(SHARED_BOOKS)


def test_new_notes_start_after_the_prompt_in_the_shared_corpora_meters(model_and_tok, shared_tunes):
    model, tok = model_and_tok
    meters = {
        (t.time_signatures[0].numerator, t.time_signatures[0].denominator) for t in shared_tunes
    }
    assert len(meters) >= 5 and {t.pickup > 0 for t in shared_tunes} == {True, False}
    for tune in shared_tunes:
        prompt = cut_prompt(tune, prompt_bars=4)
        samples, _ = continue_score(model, tok, prompt, max_bars=2, n_samples=4, seed=4)
        _assert_prompt_kept(prompt, samples, tok)
