"""musicgen-studio with a harmoniser checkpoint: a melody in, the chords the model writes
out, heard together with it; the session, then the page in headless Chromium."""

from __future__ import annotations

import re

import pytest
from conftest import HARMONY_BOOK
from studio_browser import (
    ATTENTION_SHOWN,
    STATUS,
    download,
    generate,
    load,
    missing_browser,
    sample_link,
    shot_on_failure,
    status,
    studio_server,
    upload,
    wait_for,
)

from musicgen.generation.harmonize import CHORD_PROGRAM
from musicgen.generation.studio_session import StudioError, StudioRequest, StudioSession
from musicgen.music import Score, read_abc, read_midi, write_midi
from musicgen.music.score import Note

# the tune of the harmoniser's corpus with its chord symbols taken out: a bare melody
MELODY_ABC = re.sub(r'"[^"]*"', "", HARMONY_BOOK.format(n=9))


@pytest.fixture(scope="module")
def melody(tmp_path_factory) -> dict:
    """The user's uploads: the melody as MIDI and as ABC, and the melody itself."""
    folder = tmp_path_factory.mktemp("melody")
    (score,) = read_abc(MELODY_ABC)
    write_midi(score, folder / "melody.mid")
    (folder / "melody.abc").write_text(MELODY_ABC, encoding="utf-8")
    return {"score": score, "mid": folder / "melody.mid", "abc": folder / "melody.abc"}


@pytest.fixture(scope="module")
def session(harmony_ckpt, tmp_path_factory):
    from musicgen.training.checkpoint import load_checkpoint

    ck = load_checkpoint(harmony_ckpt)
    return StudioSession(ck.model, ck.tokenizer, tmp_path_factory.mktemp("studio_out"))


def _assert_melody_and_chords(score: Score, melody: Score) -> None:
    """The melody's notes come back as they were, and a chord track sounds with them."""
    tune = [(n.pitch, n.start) for n in score.notes if n.program != CHORD_PROGRAM]
    assert tune == [(n.pitch, n.start) for n in melody.notes]
    chords = [n for n in score.notes if n.program == CHORD_PROGRAM]
    assert len({n.start for n in chords}) >= 1 and len(chords) >= 3, "no chord notes"
    assert min(n.start for n in chords) < max(n.start for n in melody.notes), "not together"


@pytest.mark.parametrize("suffix", ["mid", "abc"])
def test_session_harmonises_an_uploaded_melody(session, melody, suffix, one_torch_thread):
    result = session.run(StudioRequest(prompt_file=str(melody[suffix]), n_samples=2, seed=1))
    assert f"melody: the uploaded file melody.{suffix} (16 notes, 16 beats)" in result.messages
    assert sum("chords per beat:" in line for line in result.messages) == 2
    for sample in result.samples:
        assert sample.wav.stat().st_size > 1000 and sample.png.stat().st_size > 1000
        (alignment,) = sample.attention
        assert alignment.stat().st_size > 1000
        _assert_melody_and_chords(read_midi(sample.downloads[0]), melody["score"])


def test_session_refuses_no_melody_and_a_piano_part(session, tmp_path):
    with pytest.raises(StudioError, match="this model is a harmoniser: upload a melody"):
        session.run(StudioRequest())
    chords = [Note(pitch=p, start=t, duration=1) for t in range(8) for p in (60, 64, 67)]
    write_midi(Score(notes=chords), tmp_path / "piano.mid")
    with pytest.raises(StudioError, match=r"^piano\.mid: 100% of its onsets sound several"):
        session.run(StudioRequest(prompt_file=str(tmp_path / "piano.mid")))


def test_a_melody_longer_than_the_model_reads_is_harmonised_as_far_as_it_reads(
    session, tmp_path, one_torch_thread
):
    beats = session.tokenizer.max_beats + 16  # the tiny model reads 64 beats
    line = [Note(pitch=60 + i % 7, start=i, duration=1) for i in range(beats)]
    write_midi(Score(notes=line), tmp_path / "long.mid")
    result = session.run(StudioRequest(prompt_file=str(tmp_path / "long.mid")))
    assert f"warning: the model harmonises its first {beats - 16} beats only" in result.messages
    chords = [
        n for n in read_midi(result.samples[0].downloads[0]).notes if n.program == CHORD_PROGRAM
    ]
    assert chords and max(n.start for n in chords) < beats - 16


@pytest.fixture(scope="module")
def browser(harmony_ckpt, tmp_path_factory):
    """One studio server on the tiny harmoniser and one headless Chromium on its page."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from studio_browser import chromium

    work = tmp_path_factory.mktemp("studio_page")
    with studio_server(harmony_ckpt, work, "n_samples=1") as url:
        driver = chromium()
        try:
            load(driver, url)
            yield driver
        finally:
            driver.quit()


def test_the_page_harmonises_an_uploaded_melody_and_survives_a_bad_file(browser, melody, tmp_path):
    driver = browser
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"%PDF-1.4 a PDF renamed to .mid\n")
    with shot_on_failure(driver, tmp_path / "failure.png"):
        assert not driver.execute_script("return document.querySelector('#heldout');")
        upload(driver, melody["mid"])
        assert generate(driver)["duration"] > 0  # the melody and its chords, heard
        assert wait_for(driver, ATTENTION_SHOWN, timeout=30) == 1  # the alignment picture
        driver.save_screenshot(str(tmp_path / "studio_harmony.png"))
        assert "melody: the uploaded file melody.mid" in status(driver)
        assert "sample 1 (greedy), chords per beat:" in status(driver)
        score = read_midi(download(sample_link(driver), tmp_path / "downloaded.mid"))
        _assert_melody_and_chords(score, melody["score"])

        upload(driver, bad)
        driver.find_element("css selector", "#generate").click()
        message = wait_for(driver, f"{STATUS}.includes('Could not generate') && {STATUS}")
        assert "broken.mid: not a readable MIDI file" in message
        assert not driver.execute_script("return document.querySelector('#audio-1');")

        upload(driver, melody["abc"])
        assert generate(driver)["duration"] > 0  # the next request is served
        assert "melody: the uploaded file melody.abc" in status(driver)
    assert (tmp_path / "studio_harmony.png").stat().st_size > 10_000
