"""The package's shape: one home per stage, imports that run one way, light lower stages.

Stages, in the order data flows (DESIGN.md): a module may import from its own stage and
from earlier ones, never from a later one. ``music``, ``tokenizers`` and ``metrics`` import
with torch, Lightning and Hydra blocked, so their tests run in milliseconds and they can be
used without an ML framework.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "musicgen"
STAGES = ("music", "tokenizers", "metrics", "data", "models", "generation", "training",
          "evaluation", "cli")  # fmt: skip
LIGHT = ("music", "tokenizers", "metrics")
HEAVY = ("torch", "torchmetrics", "pytorch_lightning", "lightning", "hydra", "omegaconf")


def musicgen_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level stage) of every ``musicgen.<stage>`` import in a file, also the ones
    inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "musicgen" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def stage_violations(root: Path) -> list[str]:
    """Every import of a later stage, as ``file:line: <stage> imports <later stage>``."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if len(rel.parts) < 2 or rel.parts[0] not in STAGES:
            continue
        here = STAGES.index(rel.parts[0])
        for line, stage in musicgen_imports(path):
            if stage in STAGES and STAGES.index(stage) > here:
                bad.append(f"{rel}:{line}: {rel.parts[0]} imports {stage}")
    return bad


def test_no_module_imports_from_a_later_stage():
    assert stage_violations(PACKAGE) == []


def test_the_stage_check_sees_a_late_import_even_inside_a_function(tmp_path):
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "bad.py").write_text(
        "def f():\n    from musicgen.training.checkpoint import load_checkpoint\n"
    )
    assert stage_violations(tmp_path) == ["music/bad.py:2: music imports training"]


def test_the_package_root_holds_only_stages():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == {*STAGES, "conf"}


GUARD = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class Blocked:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {heavy!r}:
                raise ImportError(f"blocked: {{name}}")

    sys.meta_path.insert(0, Blocked())
    sys.path.insert(0, {root!r})
    failed = []
    for stage in {stages!r}:
        pkg = importlib.import_module(f"{package}.{{stage}}")
        for info in pkgutil.walk_packages(pkg.__path__, f"{package}.{{stage}}."):
            try:
                importlib.import_module(info.name)
            except ImportError as err:
                failed.append(f"{{info.name}}: {{err}}")
    print("\\n".join(failed))
    sys.exit(1 if failed else 0)
    """
)


def import_blocked(
    root: Path, package: str, stages: tuple[str, ...]
) -> subprocess.CompletedProcess:
    """Import every module of ``stages`` in a fresh interpreter whose heavy imports fail."""
    code = GUARD.format(heavy=HEAVY, root=str(root), stages=stages, package=package)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_music_tokenizers_and_metrics_import_without_torch_lightning_or_hydra():
    res = import_blocked(PACKAGE.parent, "musicgen", LIGHT)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("heavy", ["torch", "hydra.utils", "pytorch_lightning"])
def test_the_import_guard_fails_on_a_heavy_import(tmp_path, heavy):
    pkg = tmp_path / "fakepkg" / "music"
    pkg.mkdir(parents=True)
    (tmp_path / "fakepkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "ok.py").write_text("import json\n")
    (pkg / "heavy.py").write_text(f"import {heavy}\n")
    res = import_blocked(tmp_path, "fakepkg", ("music",))
    assert res.returncode == 1 and "fakepkg.music.heavy" in res.stdout
    assert "fakepkg.music.ok" not in res.stdout
