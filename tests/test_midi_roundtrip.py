"""write → read gives back the same score: random scores, and every corpus MIDI file."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.music import Key, Note, Score, Tempo, TimeSignature, read_midi, write_midi

DENOMINATORS = [1, 2, 3, 4, 6, 8, 12, 5]
KEYS = [Key(t, "major") for t in ("C", "G", "D", "F#", "C#", "F", "Bb", "Cb")] + [
    Key(t, "minor") for t in ("A", "E", "B", "D#", "A#", "D", "G", "Ab")
]


def times(max_numerator: int):
    return st.builds(Fraction, st.integers(0, max_numerator), st.sampled_from(DENOMINATORS))


notes = st.builds(
    Note,
    pitch=st.integers(0, 127),
    start=times(96),
    duration=times(24),  # includes zero-length notes
    velocity=st.integers(1, 127),
    program=st.sampled_from([0, 1, 24, 40, 73, 127]),  # few, so parts get several notes
    is_drum=st.booleans(),
)


def _changes(make, values):
    """A map with distinct start times, as a MIDI file can hold it."""
    return st.dictionaries(times(96), values, max_size=4).map(
        lambda d: [make(start, v) for start, v in d.items()]
    )


tempos = _changes(Tempo, st.integers(100_000, 3_000_000).map(lambda us: 60e6 / us))
meters = _changes(
    lambda start, nd: TimeSignature(start, *nd),
    st.tuples(st.integers(1, 15), st.sampled_from([1, 2, 4, 8, 16, 32])),
)
scores = st.builds(
    Score,
    notes=st.lists(notes, max_size=40),
    time_signatures=meters,
    tempos=tempos,
    key=st.none() | st.sampled_from(KEYS),
    title=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
    ),
)


def _round_trip(score: Score) -> Score:
    buf = io.BytesIO()
    write_midi(score, buf)
    buf.seek(0)
    return read_midi(buf)


@settings(max_examples=150, deadline=None)
@given(scores)
def test_random_scores_round_trip_exactly(score):
    back = _round_trip(score)
    assert back.notes == score.notes
    assert back.time_signatures == score.time_signatures
    assert [t.start for t in back.tempos] == [t.start for t in score.tempos]
    # whole microseconds per quarter: the same MIDI tempo, a qpm within 1e-6 relative
    assert [round(60e6 / t.qpm) for t in back.tempos] == [round(60e6 / t.qpm) for t in score.tempos]
    assert back.key == score.key
    assert back.title == score.title


def _corpus(shared_data, every: int) -> list:
    paths = sorted((shared_data / "midi").rglob("*.mid"))
    assert len(paths) > 1000, f"expected the nottingham + pop909 MIDI corpora in {shared_data}"
    return paths[::every]


def _check_corpus(paths) -> None:
    failures = []
    for path in paths:
        score = read_midi(path)
        back = _round_trip(score)
        # the reader sets notes in Score's order itself (it skips Score's sort): check it
        in_order = score.notes == Score(notes=list(score.notes)).notes
        if back != score or not in_order:
            failures.append(path.name)
    assert not failures, f"{len(failures)} files changed on write → read: {failures[:10]}"


def test_corpus_sample_round_trips(shared_data):
    # Every 8th file (about 210) keeps the default run to a few seconds; the full
    # corpus (~1,700 files, ~25 s) runs under the slow marker.
    _check_corpus(_corpus(shared_data, every=8))


@pytest.mark.slow
def test_whole_corpus_round_trips(shared_data):
    _check_corpus(_corpus(shared_data, every=1))


def test_music21_reads_the_same_notes(shared_data):
    """music21 as an independent oracle on a few Nottingham tunes (melody + chords)."""
    m21midi = pytest.importorskip("music21.midi.translate")
    for path in sorted((shared_data / "midi" / "nottingham").glob("*.mid"))[::200]:
        # no quantising; ties across bar lines joined back into single notes
        stream = m21midi.midiFilePathToStream(str(path), quantizePost=False).stripTies()
        theirs = sorted(
            (p.midi, Fraction(n.getOffsetInHierarchy(stream)), Fraction(n.quarterLength))
            for n in stream.recurse().notes
            for p in n.pitches
        )
        ours = sorted((n.pitch, n.start, n.duration) for n in read_midi(path).notes)
        assert ours == theirs, path.name
