"""Reader throughput against baselines, on the same inputs, in one run.

    python bench/parse.py [--shared ../shared/data] [--abc-repeats 3]

Prints a table: our ``read_abc`` tunes/s against music21's ABC parser; our ``read_abc``,
written order and repeats expanded, in tunes per CPU-second against abc2midi (one process
per book, its CPU time as the OS counts it for a child; skipped where abc2midi is not
installed); and our ``read_midi`` files/s against mido's bare ``MidiFile`` parse. Ratios,
not absolute speeds, are what to compare across machines. Single process, one core.
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import mido

from musicgen.music import read_midi
from musicgen.music.abc import read_abc_book


def best_of(repeats: int, *fns) -> list[float]:
    """For each ``fn``, the fastest of ``repeats`` runs in seconds (the least disturbed one).

    The functions take turns (a, b, a, b, ...) so that a busy machine slows both alike.
    """
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            gc.collect()
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def bench_abc(files: list[Path], repeats: int) -> dict:
    import music21  # imported here: its import alone takes a second

    ours = sum(len(read_abc_book(f).tunes) for f in files)
    m21_tunes = 0

    def music21_all() -> None:
        nonlocal m21_tunes
        m21_tunes = 0
        for f in files:
            parsed = music21.converter.parse(f, format="abc", forceSource=True)
            m21_tunes += len(parsed.scores) if hasattr(parsed, "scores") else 1

    # music21 is slow: one run of it between two of ours
    t_ours, t_m21, t_ours2 = best_of(1, lambda: [read_abc_book(f) for f in files], music21_all,
                                      lambda: [read_abc_book(f) for f in files])  # fmt: skip
    t_ours = min(t_ours, t_ours2, *best_of(repeats, lambda: [read_abc_book(f) for f in files]))
    return {
        "what": f"ABC: {len(files)} files",
        "ours": ours / t_ours,
        "base": m21_tunes / t_m21,
        "unit": "tunes/s",
        "base_name": "music21",
        "n": f"{ours} tunes (music21: {m21_tunes})",
    }


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_abc2midi(files: list[Path], repeats: int) -> list[dict] | None:
    """Tunes per CPU-second: abc2midi (one process per book, writing its MIDI files to a
    scratch folder) against our plain and expanded reads, taking turns, best of
    ``repeats``. CPU time, not wall time, so that another job on the machine counts less."""
    exe = shutil.which("abc2midi")
    if exe is None:
        return None
    tunes = sum(len(read_abc_book(f).tunes) for f in files)
    best = {"abc2midi": float("inf"), "plain": float("inf"), "expanded": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            gc.collect()
            before = _child_cpu()
            for f in files:
                subprocess.run([exe, str(f), "-quiet", "-silent"], cwd=tmp, capture_output=True)
            best["abc2midi"] = min(best["abc2midi"], _child_cpu() - before)
            for name, expand in (("plain", False), ("expanded", True)):
                gc.collect()
                t = time.process_time()
                for f in files:
                    read_abc_book(f, expand_repeats=expand)
                best[name] = min(best[name], time.process_time() - t)
    base = tunes / best["abc2midi"]
    return [
        {"what": f"ABC {name}: {len(files)} files", "ours": tunes / best[name], "base": base,
         "unit": "tunes/CPU-s", "base_name": "abc2midi", "n": f"{tunes} tunes"}
        for name in ("plain", "expanded")
    ]  # fmt: skip


def bench_midi(files: list[Path], repeats: int) -> dict:
    t_mido, t_ours = best_of(
        repeats, lambda: [mido.MidiFile(f) for f in files], lambda: [read_midi(f) for f in files]
    )
    return {
        "what": f"MIDI: {len(files)} files",
        "ours": len(files) / t_ours,
        "base": len(files) / t_mido,
        "unit": "files/s",
        "base_name": "mido MidiFile",
        "n": f"{len(files)} files",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--midi-every", type=int, default=4, help="take every n-th MIDI file")
    args = ap.parse_args()
    shared = Path(args.shared)
    abc_files = sorted((shared / "abc" / "nottingham").glob("*.abc"))
    midi_files = sorted((shared / "midi").rglob("*.mid"))[:: args.midi_every]
    a2m = bench_abc2midi(abc_files, args.repeats)
    rows = [bench_abc(abc_files, args.repeats), *(a2m or []), bench_midi(midi_files, args.repeats)]
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print("| input | ours | baseline | ratio (ours/baseline) | items |")
    print("|---|---|---|---|---|")
    for r in rows:
        ratio = r["ours"] / r["base"]
        print(
            f"| {r['what']} | {r['ours']:,.0f} {r['unit']} | {r['base_name']}: {r['base']:,.1f}"
            f" {r['unit']} | {ratio:.2f}x | {r['n']} |"
        )
    midi = rows[-1]
    if a2m is None:
        print("abc2midi is not installed (apt-get install abcmidi): its rows are left out")
    else:
        plain, expanded = a2m
        print(f"abc2midi speed / plain read_abc: {plain['base'] / plain['ours']:.2f} (goal <= 3)")
        print(
            f"plain / expanded read_abc time: {plain['ours'] / expanded['ours']:.2f} (goal <= 1.5)"
        )
    print(f"read_midi time / mido parse time: {midi['base'] / midi['ours']:.2f} (goal <= 1.5)")
    print(f"read_abc speed-up over music21: {rows[0]['ours'] / rows[0]['base']:.0f}x (goal >= 50)")


if __name__ == "__main__":
    main()
