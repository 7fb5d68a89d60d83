"""Ready models: compact trained checkpoints that ship inside the package under a short name.

``musicgen/ready/<name>.ckpt`` beside ``<name>.json`` (its manifest: sha256, size, recipe,
commit, steps, figures) lets ``ckpt=<name>`` work right after install, with no training
and no download. `export_ready` writes both from a training checkpoint;
``MUSICGEN_READY_DIR`` points the look-up at another folder (tests, a private collection).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from musicgen.data.documents import file_sha256
from musicgen.training.checkpoint import (
    PREFIX,
    CheckpointError,
    newest_last_checkpoint,
    read_checkpoint,
)
from musicgen.training.module import CHECKPOINT_KEY

PACKAGE_READY = Path(__file__).resolve().parent.parent / "ready"
ENV = "MUSICGEN_READY_DIR"
KIND = "musicgen-ready-model"  # marks a manifest, so a stray .json beside a .ckpt is ignored


def ready_dir(folder: str | Path | None = None) -> Path:
    """Where shipped models are looked up: ``folder``, else ``$MUSICGEN_READY_DIR``, else
    the package's own ``musicgen/ready/``."""
    return Path(folder or os.environ.get(ENV) or PACKAGE_READY)


def ready_names(folder: str | Path | None = None) -> list[str]:
    """The names of the ready models in ``ready_dir(folder)`` (those with a manifest)."""
    return sorted(p.stem for p in ready_dir(folder).glob("*.json") if _manifest(p) is not None)


def resolve_checkpoint(spec: Any, folder: str | Path | None = None) -> Path:
    """The file a ``ckpt=`` value means: "last" is the newest ``last.ckpt`` under
    ``outputs/train/``, a bare word with a manifest in the ready folder is that shipped
    model, anything else a path.

    Raises:
        CheckpointError: "last" with no training run, or a bare word (no folder, no
            suffix) that is neither a file nor a shipped model.
    """
    text = str(spec)
    if text == "last":
        return newest_last_checkpoint()
    if not _bare(text):
        return Path(text)
    where = ready_dir(folder)
    if _manifest(where / f"{text}.json") is not None:
        return where / f"{text}.ckpt"
    if Path(text).is_file():
        return Path(text)
    names = ready_names(folder)
    shipped = f"ready models: {', '.join(names)}" if names else f"no ready model ships in {where}"
    raise CheckpointError(
        f"ckpt={text}: neither a checkpoint file nor a ready model ({shipped});"
        " give a path, e.g. ckpt=outputs/.../checkpoints/last.ckpt"
    )


def verify_ready(path: str | Path) -> dict | None:
    """The manifest of ``path`` when it is a ready model (a manifest beside it), after
    checking the file's sha256 against it; None for any other checkpoint.

    Raises:
        CheckpointError: the file is missing or its hash differs from the manifest's.
    """
    path = Path(path)
    if not path.name or path.is_dir():  # "", ".", "/": read_checkpoint says what is wrong
        return None
    manifest = _manifest(path.with_suffix(".json"))
    if manifest is None:
        return None
    if not path.is_file():
        raise CheckpointError(f"{path}: the ready model's manifest is there but its file is not")
    if file_sha256(path) != manifest.get("sha256"):
        raise CheckpointError(
            f"{path}: corrupt or replaced: its sha256 differs from {path.with_suffix('.json').name}"
            "; reinstall the package or export the model again"
        )
    return manifest


def export_ready(
    src_ckpt: str | Path,
    name: str,
    out_dir: str | Path,
    commit: str | None = None,
    figures: dict | None = None,
    max_mb: float = 10,
) -> Path:
    """Writes ``out_dir/<name>.ckpt`` (backbone weights in float16, the step and the musicgen
    entry; no optimizer, loops or callbacks) and its manifest ``<name>.json``.

    Returns:
        The path of the new ``.ckpt``.

    Raises:
        CheckpointError: the source is not a musicgen checkpoint, ``name`` is not a bare
            word, or the result exceeds ``max_mb`` megabytes (nothing is left behind).
    """
    if not _bare(name) or name == "last":
        raise CheckpointError(f"name={name!r}: give a bare word such as folk (no folder or suffix)")
    src = Path(src_ckpt)
    ckpt = read_checkpoint(src)
    weights = {
        k: (v.half() if v.is_floating_point() else v)
        for k, v in ckpt["state_dict"].items()
        if isinstance(k, str) and k.startswith(PREFIX) and isinstance(v, torch.Tensor)
    }
    small = {
        "state_dict": weights,
        "global_step": int(ckpt.get("global_step", 0)),
        CHECKPOINT_KEY: ckpt[CHECKPOINT_KEY],
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.ckpt"
    tmp = path.with_suffix(".ckpt.tmp")
    torch.save(small, tmp)
    size = tmp.stat().st_size
    if size > max_mb * 1e6:
        tmp.unlink()
        raise CheckpointError(
            f"{src}: the ready model would be {size / 1e6:.1f} MB, over max_mb={max_mb}"
            "; ship a smaller model or raise the limit"
        )
    tmp.replace(path)
    config = ckpt[CHECKPOINT_KEY].get("config") or {}
    manifest = {
        "kind": KIND,
        "name": name,
        "sha256": file_sha256(path),
        "size_bytes": size,
        "recipe": config.get("name"),
        "commit": commit or ckpt[CHECKPOINT_KEY].get("commit"),  # given, or recorded in training
        "steps": small["global_step"],
        "source": src.name,
        "figures": figures or {},
    }
    tmp = path.with_suffix(".json.tmp")  # whole or not at all: a cut-short manifest blocks
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(path.with_suffix(".json"))
    return path


def _bare(text: str) -> bool:
    """A word that can name a ready model: not empty, no folder, no suffix."""
    return bool(text) and "/" not in text and "\\" not in text and not Path(text).suffix


def _manifest(path: Path) -> dict | None:
    """The ready-model manifest at ``path``, or None when there is none (or it is some
    other file that shares a checkpoint's stem: not JSON and not naming the kind).

    Raises:
        CheckpointError: a manifest that is not valid JSON, an empty file included (a write
            cut short must not turn the hash check off).
    """
    if not path.is_file():
        return None
    try:
        text = path.read_text(errors="replace")
        data = json.loads(text)
    except OSError as err:
        raise CheckpointError(f"{path}: an unreadable ready-model manifest ({err})") from err
    except ValueError as err:
        if text.strip() and KIND not in text:  # another file sharing a checkpoint's stem
            return None  # (an empty one is a manifest whose write was cut short)
        raise CheckpointError(f"{path}: an unreadable ready-model manifest ({err})") from err
    return data if isinstance(data, dict) and data.get("kind") == KIND else None
