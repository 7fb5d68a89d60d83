"""NoteTokenizer over every real MIDI and ABC file in ../shared/data (round trip + grammar)."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from musicgen.data.sources import music21_corpus_dir
from musicgen.music import MusicFormatError, Score, read_abc, read_midi
from musicgen.tokenizers import NoteTokenizer

TOK = NoteTokenizer()


def midi_scores(files: list[Path]) -> Iterator[tuple[str, Score]]:
    for f in files:
        try:
            yield f.name, read_midi(f)
        except MusicFormatError:
            continue  # the robustness folder holds corrupt files that must be rejected


def abc_scores(files: list[Path]) -> Iterator[tuple[str, Score]]:
    for f in files:
        if f.suffix == ".gz":
            with tempfile.TemporaryDirectory() as tmp:
                plain = Path(tmp) / f.stem
                plain.write_bytes(gzip.decompress(f.read_bytes()))
                tunes = read_abc(plain)
        else:
            tunes = read_abc(f)
        for i, s in enumerate(tunes):
            yield f"{f.name}#{i}", s


def check_corpus(scores: Iterator[tuple[str, Score]], minimum: int) -> int:
    """Round trip, grammar and transposition for every score (a sample also with a made-up
    one-eighth upbeat, whatever the reader found); returns how many were read."""
    count = 0
    for name, s in scores:
        ids = TOK.encode(s)
        q = TOK.quantize(s)
        assert TOK.decode(ids) == q, name
        assert TOK.grammar.accepts(ids), name
        if count % 10 == 0:  # transposition is vectorised; a sample keeps the run short
            up = TOK.transpose_ids(np.asarray(ids), 2)
            assert up is None or up.tolist() == TOK.encode(q.transposed(2)), name
            upbeat = replace(s, pickup=Fraction(1, 2))
            ids = TOK.encode(upbeat)
            assert TOK.decode(ids) == TOK.quantize(upbeat) and TOK.grammar.accepts(ids), name
        count += 1
    assert count >= minimum
    return count


CORPORA = {
    "midi/nottingham": (midi_scores, "*.mid", 1500),
    "midi/pop909": (midi_scores, "*.mid", 150),
    "robustness/midi": (midi_scores, "*.mid", 5),
    "abc/irish.abc": (abc_scores, None, 700),
    "abc/nottingham": (abc_scores, "*.abc", 500),
    "abc/scale": (abc_scores, "*.abc.gz", 1500),  # the reader skips some tunes it can't read
    "robustness/abc": (abc_scores, "*.abc", 5),
}


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_round_trip_over_every_shared_file(shared_data: Path, corpus: str):
    reader, pattern, minimum = CORPORA[corpus]
    root = shared_data / corpus
    files = [root] if pattern is None else sorted(root.rglob(pattern))
    try:
        check_corpus(reader(files), minimum)
    except NotImplementedError:
        pytest.skip(f"the reader for {corpus} is not written yet")


@pytest.mark.parametrize(("collection", "every"), [("essenFolksong", 20), ("oneills1850", 5),
                                                   ("ryansMammoth", 5)])  # fmt: skip
def test_round_trip_over_music21s_folk_books(collection: str, every: int):
    """The embedded default corpus (music21's folk books), a sample of its files: it needs
    no shared corpora, so a fresh clone checks the tokenizer on real tunes too."""
    files = sorted((music21_corpus_dir() / collection).glob("*.abc"))[::every]
    assert files, f"music21 ships no {collection} books"
    check_corpus(abc_scores(files), minimum=100)


@pytest.mark.parametrize("book", ["irish.abc", "oneills1850"])
def test_a_real_folk_tune_looks_right(book: str):
    """The first tune of the lab's irish.abc (shared corpora) or of O'Neill's 1850 (music21)."""
    if book == "irish.abc":
        path = SHARED_DATA / "abc" / "irish.abc"
        if not path.is_file():
            pytest.skip(f"{path} not found (the shared corpora live beside the checkout)")
    else:
        path = music21_corpus_dir() / "oneills1850" / "0001-0050.abc"
    tune = read_abc(path)[0]
    tokens = [TOK.token(i) for i in TOK.encode(tune)]
    assert tokens[0] == "<bos>" and tokens[1].startswith("TimeSig_")
    assert tokens[2].startswith("Key_") and "Bar" in tokens and tokens[-1] == "<eos>"
    assert tokens.count("Bar") >= 8 and sum(t.startswith("Pitch_") for t in tokens) >= 30
