"""Studio latency: press Generate, wait until the page shows the sample (audio playable,
piano roll decoded), in headless Chromium against ``musicgen-studio`` on 127.0.0.1.

    python bench/studio.py --ckpt last [--runs 10] [--screenshot docs/studio.png]

A 16-bar continuation of a 4-bar prompt (the first tune of an Essen book shipped with
music21), one sample per request, a new seed each run so every request is new work. Prints
a markdown table: median and worst of the runs as the page shows them, and the same request
served in-process by ``StudioSession`` (sampling + MIDI, PNG and WAV), so the difference is
what Gradio and the browser add.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the page driver
from studio_browser import (  # noqa: E402
    SAMPLE_READY,
    chromium,
    missing_browser,
    studio_server,
    upload,
    wait_for,
)

from musicgen.cli.sample_run import new_music  # noqa: E402
from musicgen.data.sources import music21_corpus_dir  # noqa: E402
from musicgen.generation.prompt import load_prompt, prompt_end  # noqa: E402
from musicgen.generation.studio_session import StudioRequest, StudioSession  # noqa: E402
from musicgen.music import read_abc, read_midi, write_midi  # noqa: E402
from musicgen.training.checkpoint import load_checkpoint  # noqa: E402
from musicgen.training.ready import resolve_checkpoint  # noqa: E402

PROMPT_BARS, NEW_BARS = 4, 16


def page_latencies(ckpt: Path, prompt: Path, work: Path, runs: int, shot: Path | None) -> list:
    """Seconds from the click on Generate to the sample shown, one per run."""
    times = []
    with studio_server(ckpt, work, "n_samples=1", f"max_bars={NEW_BARS}",
                       f"prompt_bars={PROMPT_BARS}") as url:  # fmt: skip
        driver = chromium()
        try:
            driver.get(url)
            upload(driver, prompt)
            shown = None
            for seed in range(runs + 1):  # run 0 warms up the server and the page
                field = driver.find_element("css selector", "#seed input")
                field.clear()
                field.send_keys(str(1000 + seed) + "\t")
                time.sleep(0.3)  # the field's change reaches the page's state
                start = time.perf_counter()
                driver.find_element("css selector", "#generate").click()
                old = shown["audio"] if shown else ""
                shown = wait_for(driver, f"(s => s && s.audio !== {old!r} && s)({SAMPLE_READY})",
                                 timeout=120, poll=0.02)  # fmt: skip
                if seed:
                    times.append(time.perf_counter() - start)
            if shot:
                driver.save_screenshot(str(shot))
        finally:
            driver.quit()
    return times


def session_latencies(ckpt: Path, prompt: Path, work: Path, runs: int) -> tuple[list, list]:
    """Seconds per request served in-process (after one warm-up), and new bars per sample:
    a sample ends early when the model writes <eos> before the 16th bar."""
    ck = load_checkpoint(ckpt)
    session = StudioSession(ck.model, ck.tokenizer, work / "direct")
    end = prompt_end(load_prompt(prompt, PROMPT_BARS))
    times, bars = [], []
    for seed in range(runs + 1):
        request = StudioRequest(prompt_file=str(prompt), prompt_bars=PROMPT_BARS,
                                max_bars=NEW_BARS, seed=1000 + seed)  # fmt: skip
        start = time.perf_counter()
        (sample,) = session.run(request).samples
        if seed:
            times.append(time.perf_counter() - start)
            bars.append(new_music(read_midi(sample.downloads[0]), end)["new_bars"])
    return times, bars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default="last", help="a checkpoint, last, or a ready-model name")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    if reason := missing_browser():
        raise SystemExit(f"bench/studio.py: {reason}")
    ckpt = resolve_checkpoint(args.ckpt)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prompt = work / "prompt.mid"
        write_midi(read_abc(music21_corpus_dir() / "essenFolksong" / "altdeu10.abc")[0], prompt)
        print(f"checkpoint: {ckpt}; {PROMPT_BARS}-bar prompt, {NEW_BARS} new bars, 1 sample\n")
        print("| measured | runs | median s | worst s |\n|---|---:|---:|---:|")
        page = page_latencies(ckpt.resolve(), prompt, work, args.runs, args.screenshot)
        _row("page: click -> audio + roll shown", page)
        direct, bars = session_latencies(ckpt, prompt, work, args.runs)
        _row("StudioSession.run in-process", direct)
    print(
        f"\nnew bars per sample (in-process runs): median {statistics.median(bars)}, "
        f"min {min(bars)}, max {max(bars)} of {NEW_BARS} asked"
    )


def _row(name: str, times: list) -> None:
    print(f"| {name} | {len(times)} | {statistics.median(times):.2f} | {max(times):.2f} |",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
