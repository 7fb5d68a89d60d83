"""The code a run was trained with: its git commit, stored in every checkpoint."""

from __future__ import annotations

import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]  # the checkout the package runs from, if any


def code_commit(root: Path = SOURCE) -> str | None:
    """The short commit of the checkout at ``root`` (``"546c320"``; ``"546c320+dirty"`` when
    tracked files differ from it; untracked files are not looked at), or None for an
    installed copy outside git. A resumed run records the commit of the code resuming it."""
    if not (root / ".git").exists():
        return None
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):  # no git, or not a repository after all
        return None
    return f"{head}+dirty" if dirty else head or None


def _git(root: Path, *args: str) -> str:
    run = subprocess.run(
        ["git", "--no-optional-locks", *args], cwd=root, timeout=10, capture_output=True, text=True
    )
    run.check_returncode()
    return run.stdout.strip()
