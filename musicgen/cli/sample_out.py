"""The folder a ``musicgen-sample`` run writes: its samples, ``samples.json`` and ``sample.log``.

A run owns its folder's sample files: the files an earlier run left there (``sample_*``,
``heldout_prompt.mid``, ``attention_*``) are removed first, so a MIDI never sits beside
the WAV of another run, and ``samples.json`` records what made every file.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

OWNED = ("sample_*", "heldout_prompt.mid", "attention_*.png", "samples.json", "sample.log")


def fresh_seed() -> int:
    """A seed for a run that asked for none: new samples each time, printed so that
    ``seed=N`` repeats them."""
    return secrets.randbelow(2**31)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class SampleFolder:
    """``out_dir`` for one run: cleared of an earlier run's files, then filled.

    Args:
        path: the folder (made on :meth:`open`, not before, so a failed run leaves none).
        header: what made the samples: checkpoint, its step and hash, prompt, seed, settings.
    """

    def __init__(self, path: Path, header: dict) -> None:
        self.path, self.header = Path(path), header
        self.samples: list[dict] = []
        self.lines: list[str] = []

    def open(self) -> list[str]:
        """Make the folder and remove an earlier run's files; returns a line saying so."""
        self.path.mkdir(parents=True, exist_ok=True)
        stale = sorted({p for pattern in OWNED for p in self.path.glob(pattern) if p.is_file()})
        for p in stale:
            p.unlink()
        return (
            [f"out_dir {self.path}: removed {len(stale)} file(s) of an earlier run"]
            if stale
            else []
        )

    def add(self, **sample) -> None:
        self.samples.append(sample)

    def close(self, lines: list[str]) -> Path:
        """Write ``samples.json`` and ``sample.log`` (the lines the terminal showed)."""
        manifest = self.path / "samples.json"
        record = {**self.header, "samples": self.samples}
        manifest.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
        (self.path / "sample.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return manifest
