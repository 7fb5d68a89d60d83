"""Start ``musicgen-studio`` on a free loopback port and drive its page in headless Chromium.

Shared by ``tests/test_studio.py`` and ``bench/studio.py``. Every wait is bounded in time;
all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    try:
        import gradio  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed (pip install -e '.[dev,studio]')"
    if not (CHROMIUM and CHROMEDRIVER):
        return "Chromium or its driver not found (apt-get install chromium chromium-driver)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def studio_server(ckpt: Path, work: Path, *overrides: str, start_s: float = 180) -> Iterator[str]:
    """Run the studio on ``ckpt`` until the block ends; yields its URL once it answers."""
    port = free_port()
    log = (work / "studio.log").open("w")
    cmd = [sys.executable, "-m", "musicgen.cli.studio", f"ckpt={ckpt}", f"port={port}",
           f"out_dir={work / 'studio_out'}", *overrides]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_s
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the studio did not start:\n{_tail(work / 'studio.log')}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


def chromium():
    """A headless Chromium under Selenium, tall enough to show one sample whole."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,1700", "--disable-gpu"):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for(driver, script: str, timeout: float = 120, poll: float = 0.1):
    """Poll a JavaScript expression until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"waited {timeout} s for: {script}")


# A sample is shown when its audio has a source the browser can play (its duration is known)
# and its piano roll has been decoded.
SAMPLE_READY = """(() => {
  const a = document.querySelector('#audio-1 audio'), i = document.querySelector('#roll-1 img');
  if (!a || !i || !a.currentSrc || !(a.duration > 0) || !i.complete || !i.naturalWidth) return null;
  return {audio: a.currentSrc, duration: a.duration, roll: i.src};
})()"""
# the attention pictures of sample 1 the browser has decoded
ATTENTION_SHOWN = """[...document.querySelectorAll('#attention-1 img')]
  .filter(i => i.complete && i.naturalWidth > 100).length"""
STATUS = "document.querySelector('#studio-status').innerText"


def load(driver, url: str) -> None:
    """Open the page afresh (a new page session) and wait until it is drawn."""
    driver.get(url)
    wait_for(driver, "document.querySelector('#generate')", timeout=30)


def status(driver) -> str:
    """The page's status line: what was generated from what, or why not."""
    return driver.execute_script(f"return {STATUS};")


@contextlib.contextmanager
def shot_on_failure(driver, path: Path) -> Iterator[None]:
    """The page as it was when the block failed, saved as ``path``."""
    try:
        yield
    except Exception:
        driver.save_screenshot(str(path))
        raise


def upload(driver, path: Path) -> None:
    """Clear the prompt field if it holds a file, then upload ``path`` through its input."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, "#prompt-file button[aria-label=Clear]"):
        button.click()
    wait_for(driver, "document.querySelector('#prompt-file input[type=file]')", timeout=10)
    driver.find_element(By.CSS_SELECTOR, "#prompt-file input[type=file]").send_keys(str(path))
    shown = f"document.querySelector('#prompt-file td.filename[aria-label=\"{path.name}\"]')"
    wait_for(driver, shown, timeout=30)


def generate(driver, timeout: float = 120) -> dict:
    """Press Generate and wait until sample 1 is shown (its slot must be hidden before: the
    first request on a freshly loaded page, or one after an error; a repeated request can
    give the same file URL)."""
    driver.find_element("css selector", "#generate").click()
    return wait_for_sample(driver, timeout)


def wait_for_sample(driver, timeout: float = 120) -> dict:
    """Wait until sample 1 is shown (see :func:`generate`); returns :data:`SAMPLE_READY`'s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = driver.execute_script(f"return {SAMPLE_READY};")
        if shown:
            return shown
        time.sleep(0.05)
    raise TimeoutError(
        f"no sample after {timeout} s; the page says: {driver.execute_script(f'return {STATUS};')}"
    )


def pick_heldout(driver, index: int = 0) -> str:
    """Choose the ``index``-th held-out tune in the prompt's dropdown; returns its title."""
    from selenium.webdriver.common.by import By

    wait_for(driver, "document.querySelector('#heldout input')", timeout=30)
    driver.find_element(By.CSS_SELECTOR, "#heldout input").click()
    options = "document.querySelectorAll('#heldout li[role=option]')"
    wait_for(driver, f"{options}.length > {index}", timeout=10)
    option = driver.find_elements(By.CSS_SELECTOR, "#heldout li[role=option]")[index]
    title = option.get_attribute("aria-label")
    option.click()
    wait_for(
        driver,
        f"document.querySelector('#heldout input').value === {json.dumps(title)}",
        timeout=10,
    )
    return title


def sample_link(driver) -> str:
    """The URL of sample 1's first download (its MIDI file)."""
    return driver.execute_script("return document.querySelector('#files-1 a').href;")


def download(url: str, path: Path) -> Path:
    """Fetch a link of the page (a file the studio serves) into ``path``."""
    assert url.startswith("http://127.0.0.1:"), url
    with urllib.request.urlopen(url, timeout=30) as response:
        path.write_bytes(response.read())
    return path
