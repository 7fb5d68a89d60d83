"""Grammar-constrained sampling: every sample of an untrained model is valid music, with
notes: new pieces, and continuations (new notes after the prompt)."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
import torch

from musicgen.generation.continuation import continue_score
from musicgen.generation.prompt import prompt_end
from musicgen.generation.sampler import generate
from musicgen.models import TransformerLM
from musicgen.music import Score, read_abc, write_midi
from musicgen.music.edit import truncate
from musicgen.music.timeline import bar_line_after
from musicgen.tokenizers import NoteTokenizer

N_SAMPLES = 200
ASSETS = Path(__file__).parent / "assets"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tok() -> NoteTokenizer:
    return NoteTokenizer()


@pytest.fixture(scope="module")
def model(tok: NoteTokenizer) -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(tok.vocab_size, d_model=32, n_layers=1, n_heads=2, max_len=64,
                         dropout=0.0).eval()  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1])
def test_every_constrained_sample_is_valid_music(tok, model, tmp_path: Path, seed) -> None:
    prompt = [tok.bos_id]
    samples = generate(model, prompt, max_new_tokens=96, n_samples=N_SAMPLES, seed=seed,
                       grammar=tok.grammar, eos_id=tok.eos_id)  # fmt: skip
    assert len(samples) == N_SAMPLES
    for i, new in enumerate(samples):
        ids = prompt + new
        assert tok.grammar.accepts(ids), f"sample {i} breaks the grammar"
        assert tok.eos_id not in new[:-1]  # nothing is kept after <eos>
        score = tok.decode(ids)
        assert isinstance(score, Score)
        assert score.notes, f"sample {i} has no notes"  # music, not just a header
        path = write_midi(score, tmp_path / f"{i}.mid")
        mido.MidiFile(path)  # raises on a file a player could not open


def test_every_continuation_of_an_untrained_model_adds_notes(tok, model) -> None:
    tunes = read_abc(ASSETS / "tiny_book.abc")[:3]
    for k, tune in enumerate(tunes):
        prompt = truncate(tune, bar_line_after(tune, 2))
        fulls, _ = continue_score(model, tok, prompt, max_bars=4, n_samples=40, seed=k)
        end = prompt_end(prompt)
        for i, full in enumerate(fulls):
            assert any(n.start >= end for n in full.notes), f"tune {k} sample {i}: no new note"


def test_without_the_grammar_samples_break_it(tok, model) -> None:
    samples = generate(model, [tok.bos_id], max_new_tokens=32, n_samples=20, seed=0)
    broken = [s for s in samples if not tok.grammar.accepts([tok.bos_id, *s])]
    assert len(broken) > 10  # the mask is what makes the samples above valid
