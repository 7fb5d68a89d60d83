"""musicgen-studio for a text checkpoint (a text box and its continuation) and a
character-level ABC checkpoint (its tunes, each offered as ``.abc``), in headless Chromium."""

from __future__ import annotations

import json

import pytest
from conftest import ASSETS
from studio_browser import (
    download,
    load,
    missing_browser,
    shot_on_failure,
    status,
    studio_server,
    upload,
    wait_for,
)

from musicgen.music import read_abc, read_midi

SAMPLES = 4  # the ABC page's slots, all filled
# every sample's download links, once all SAMPLES slots hold some
LINKS = f"""(() => {{
  const slots = [...Array({SAMPLES}).keys()].map(i =>
    [...document.querySelectorAll(`#files-${{i + 1}} a`)].map(a => a.href));
  return slots.every(s => s.length) ? slots : null;
}})()"""
TEXT_SHOWN = "document.querySelector('#text-1 textarea')?.value"


@pytest.fixture(scope="module")
def driver():
    """One headless Chromium for this module; each test runs its own checkpoint's server."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from studio_browser import chromium

    browser = chromium()
    try:
        yield browser
    finally:
        browser.quit()


def test_a_text_checkpoint_continues_what_is_typed_in_its_text_box(text_ckpt, driver, tmp_path):
    prompt = "The function "
    with studio_server(text_ckpt, tmp_path, "n_samples=1") as url:
        load(driver, url)
        with shot_on_failure(driver, tmp_path / "failure.png"):
            assert not driver.execute_script("return document.querySelector('#prompt-file');")
            driver.find_element("css selector", "#prompt-text textarea").send_keys(prompt)
            driver.find_element("css selector", "#generate").click()
            shown = wait_for(driver, TEXT_SHOWN)
            assert f"prompt as the model reads it: {prompt!r}" in status(driver)
            assert shown.startswith(prompt) and len(shown) > len(prompt), shown
            assert not driver.execute_script("return document.querySelector('#audio-1 audio');")


def test_a_char_abc_checkpoint_offers_each_tune_as_abc_and_the_valid_ones_as_midi(
    char_ckpt, driver, tmp_path
):
    book = ASSETS / "tiny_book.abc"
    overrides = (f"n_samples={SAMPLES}", "temperature=0.3", "max_bars=8", "prompt_bars=1")
    with studio_server(char_ckpt, tmp_path, *overrides) as url:
        load(driver, url)
        with shot_on_failure(driver, tmp_path / "failure.png"):
            upload(driver, book)
            driver.find_element("css selector", "#generate").click()
            slots = wait_for(driver, LINKS)
            assert "prompt: the uploaded file tiny_book.abc" in status(driver)
            valid = 0
            for i, links in enumerate(slots):
                (abc,) = [link for link in links if link.endswith(".abc")]
                text = download(abc, tmp_path / f"{i}.abc").read_text(encoding="utf-8")
                assert text.startswith("X:1\nT:Test Jig One\nM:6/8\n"), text[:80]
                mids = [link for link in links if link.endswith(".mid")]
                if mids:  # a tune that reads: its MIDI holds what its ABC plays
                    valid += 1
                    assert read_midi(download(mids[0], tmp_path / f"{i}.mid")).notes
                    assert read_abc(text)[0].notes
            assert valid >= 1, json.dumps(slots)
