"""musicgen-studio: the session behind the page, and the page itself in headless Chromium."""

from __future__ import annotations

import threading
from fractions import Fraction

import pytest
from conftest import BOOK
from studio_browser import (
    ATTENTION_SHOWN,
    STATUS,
    download,
    generate,
    load,
    missing_browser,
    pick_heldout,
    sample_link,
    shot_on_failure,
    status,
    studio_server,
    upload,
    wait_for,
    wait_for_sample,
)

from musicgen.generation.prompt import cut_prompt, load_prompt, prompt_end
from musicgen.generation.studio_session import (
    MAX_PROMPT_TOKENS,
    StudioError,
    StudioRequest,
    StudioSession,
)
from musicgen.music import Score, read_abc, read_midi, write_midi
from musicgen.music.score import Note


@pytest.fixture(scope="module")
def prompt_mid(tmp_path_factory):
    """A real folk tune (the Essen book's first) as a MIDI file, the user's upload."""
    path = tmp_path_factory.mktemp("prompt") / "prompt.mid"
    write_midi(read_abc(BOOK)[0], path)
    return path


@pytest.fixture(scope="module")
def session(note_ckpt, tmp_path_factory):
    from musicgen.training.checkpoint import load_checkpoint

    ck = load_checkpoint(note_ckpt)
    return StudioSession(ck.model, ck.tokenizer, tmp_path_factory.mktemp("studio_out"))


def test_session_continues_an_upload_and_keeps_its_notes(session, prompt_mid, one_torch_thread):
    request = StudioRequest(prompt_file=str(prompt_mid), prompt_bars=2, max_bars=2, seed=1)
    (sample,) = session.run(request).samples
    (midi,) = sample.downloads
    assert sample.wav.stat().st_size > 1000 and sample.png.stat().st_size > 1000
    _assert_prompt_then_continuation(read_midi(midi), load_prompt(prompt_mid, 2))


def test_session_draws_one_attention_picture_per_layer_when_asked(session, one_torch_thread):
    assert session.has_attention  # the tiny checkpoint is a 1-layer Transformer
    (sample,) = session.run(StudioRequest(max_bars=1, seed=2, attention=True)).samples
    assert [p.name for p in sample.attention] == ["sample_1_attention_layer0.png"]
    assert sample.attention[0].stat().st_size > 5000


def _assert_prompt_then_continuation(score: Score, prompt: Score) -> None:
    end = prompt_end(prompt)
    head = [(n.pitch, n.start, n.duration) for n in score.notes if n.start < end]
    assert head == [(n.pitch, n.start, n.duration) for n in prompt.notes]
    assert any(n.start >= end for n in score.notes), "no continuation after the prompt"


def _long_tune(bars: int) -> Score:
    """A tune of ``bars`` 4/4 bars of four quarter notes: ~5 note tokens a note."""
    quarter = Fraction(1)
    notes = [Note(pitch=60 + i % 12, start=i * quarter, duration=quarter) for i in range(4 * bars)]
    return Score(notes=notes)


@pytest.mark.parametrize("content", [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", b"MThd\x00\x00"])
def test_a_bad_upload_is_one_line_naming_the_file(session, tmp_path, content):
    bad = tmp_path / "upload.mid"
    bad.write_bytes(content)
    with pytest.raises(StudioError, match=r"^upload\.mid: not a readable MIDI file") as err:
        session.run(StudioRequest(prompt_file=str(bad)))
    assert "\n" not in str(err.value) and str(tmp_path) not in str(err.value)


def test_a_tune_too_long_for_the_model_is_refused_before_sampling(session, tmp_path):
    long = tmp_path / "long.mid"
    write_midi(_long_tune(MAX_PROMPT_TOKENS // 10), long)
    with pytest.raises(StudioError, match=r"long\.mid: the prompt is \d+ tokens, too long"):
        session.run(StudioRequest(prompt_file=str(long), prompt_bars=0))


def test_two_requests_at_once_each_get_their_own_samples(session, prompt_mid, one_torch_thread):
    results = [None, None]

    def serve(i):
        request = StudioRequest(prompt_file=str(prompt_mid), prompt_bars=1, max_bars=1, seed=i)
        results[i] = session.run(request)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    folders = {r.samples[0].downloads[0].parent for r in results}
    assert len(folders) == 2 and all(read_midi(r.samples[0].downloads[0]).notes for r in results)


@pytest.fixture(scope="module")
def page(note_ckpt, tmp_path_factory):
    """One studio server on the tiny checkpoint and one headless Chromium for this module's
    browser tests; each test loads the page afresh (a new page session)."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from studio_browser import chromium

    work = tmp_path_factory.mktemp("studio_page")
    with studio_server(note_ckpt, work, "n_samples=1", "max_bars=2") as url:
        driver = chromium()
        try:
            yield driver, url
        finally:
            driver.quit()


@pytest.fixture
def browser(page, tmp_path):
    """The module's browser on a freshly loaded page, one tab; a screenshot on failure."""
    driver, url = page
    load(driver, url)
    yield driver, url
    if len(driver.window_handles) > 1:  # the two-tab test opened a second one
        driver.close()
        driver.switch_to.window(driver.window_handles[0])


def _downloaded(driver, path):
    return read_midi(download(sample_link(driver), path))


@pytest.fixture(scope="module")
def heldout(note_ckpt):
    """The held-out tunes the studio offers for the tiny checkpoint, by title."""
    from musicgen.cli.studio_run import heldout_tunes
    from musicgen.training.checkpoint import load_checkpoint

    return heldout_tunes(load_checkpoint(note_ckpt), 50)


def _heldout_prompt(tune: Score) -> Score:
    """A held-out tune's first 4 bars (the page's default), its pickup kept: the prompt ends
    at its 4th bar line, not where the MIDI file's first bar would put it."""
    return cut_prompt(tune, 4, source="the held-out tune")


def test_the_page_in_chromium_uploads_generates_shows_and_survives_a_bad_file(
    browser, prompt_mid, tmp_path
):
    driver, _ = browser
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"%PDF-1.4 a PDF renamed to .mid\n")
    with shot_on_failure(driver, tmp_path / "failure.png"):
        upload(driver, prompt_mid)
        generate(driver)
        driver.save_screenshot(str(tmp_path / "studio.png"))
        assert "prompt: the uploaded file prompt.mid" in status(driver)
        assert not driver.execute_script("return document.querySelector('#attention-1');")
        score = _downloaded(driver, tmp_path / "downloaded.mid")
        _assert_prompt_then_continuation(score, load_prompt(prompt_mid, 4))

        upload(driver, bad)
        driver.find_element("css selector", "#generate").click()
        message = wait_for(driver, f"{STATUS}.includes('Could not generate') && {STATUS}")
        assert "broken.mid: not a readable MIDI file" in message
        assert not driver.execute_script("return document.querySelector('#audio-1');")

        upload(driver, prompt_mid)
        assert generate(driver)["duration"] > 0  # the next request is served
    assert (tmp_path / "studio.png").stat().st_size > 10_000


def test_the_page_continues_a_held_out_tune_picked_by_its_title_and_draws_its_attention(
    browser, heldout, tmp_path
):
    driver, _ = browser
    with shot_on_failure(driver, tmp_path / "failure.png"):
        title = pick_heldout(driver, 1)
        assert title in heldout, f"the page offers {title!r}, not a held-out tune"
        driver.find_element("css selector", "#attention input[type=checkbox]").click()
        generate(driver)
        assert f"prompt: the held-out tune {title!r}" in status(driver)
        score = _downloaded(driver, tmp_path / "downloaded.mid")
        _assert_prompt_then_continuation(score, _heldout_prompt(heldout[title]))
        pictures = wait_for(driver, ATTENTION_SHOWN, timeout=30)
        assert pictures == 1, "one attention picture per layer of the 1-layer model"
        driver.save_screenshot(str(tmp_path / "attention.png"))


def test_two_tabs_generate_at_once_and_each_shows_its_own_prompt(
    browser, heldout, prompt_mid, tmp_path
):
    driver, url = browser
    first = driver.current_window_handle
    with shot_on_failure(driver, tmp_path / "failure.png"):
        title = pick_heldout(driver, 0)
        driver.switch_to.new_window("tab")
        load(driver, url)
        second = driver.current_window_handle
        upload(driver, prompt_mid)
        driver.switch_to.window(first)
        driver.find_element("css selector", "#generate").click()
        driver.switch_to.window(second)
        driver.find_element("css selector", "#generate").click()  # while the first generates
        wait_for_sample(driver)
        assert "prompt: the uploaded file prompt.mid" in status(driver)
        own = _downloaded(driver, tmp_path / "second.mid")
        _assert_prompt_then_continuation(own, load_prompt(prompt_mid, 4))

        driver.switch_to.window(first)
        wait_for_sample(driver)
        assert f"prompt: the held-out tune {title!r}" in status(driver)
        own = _downloaded(driver, tmp_path / "first.mid")
        _assert_prompt_then_continuation(own, _heldout_prompt(heldout[title]))
