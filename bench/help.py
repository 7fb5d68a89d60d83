"""``--help`` of every entry point against the two costs it must stay near or far from.

    python bench/help.py [--runs 5]

Wall time of ``musicgen-<app> --help`` (best of ``--runs``, in turns), next to a bare
``python -c pass`` (the interpreter's start, the floor) and ``python -c "import torch"``
(what a help that imported torch would pay at least). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
APPS = ("prepare", "train", "sample", "eval", "studio")


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command")
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
    } | {f"musicgen-{a} --help": [str(BIN / f"musicgen-{a}"), "--help"] for a in APPS}
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(args.runs):  # in turns, so a busy moment slows every command alike
        for name, argv in commands.items():
            best[name] = min(best[name], seconds(argv))
    torch = best['python -c "import torch"']
    print(f"| command | best of {args.runs} (s) | ratio to importing torch |")
    print("|---|---|---|")
    for name, value in best.items():
        print(f"| `{name}` | {value:.2f} | {value / torch:.2f}x |")


if __name__ == "__main__":
    main()
