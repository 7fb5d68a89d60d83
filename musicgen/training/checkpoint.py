"""Load a training checkpoint back into a ready-to-sample backbone and its tokenizer.

`LanguageModel.on_save_checkpoint` stores, beside Lightning's `state_dict`, the tokenizer
and the resolved run config under `checkpoint["musicgen"]`; that is all we need to rebuild
the backbone, so a `.ckpt` file alone is enough to sample or evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn

from musicgen.tokenizers import Tokenizer, tokenizer_from_dict
from musicgen.training.module import CHECKPOINT_KEY

# Lightning saves the LanguageModel's parameters; the backbone sits at `self.model`
PREFIX = "model."


class CheckpointError(ValueError):
    """A file that is missing, unreadable, or not a musicgen training checkpoint."""


@dataclass
class LoadedCheckpoint:
    """What a checkpoint gives back.

    Attributes:
        model: The backbone, weights loaded, in eval mode.
        tokenizer: The tokenizer the model was trained with.
        config: The resolved run config (a plain dict).
        step: The global training step at which the checkpoint was saved.
        path: The file it came from.
    """

    model: nn.Module
    tokenizer: Tokenizer
    config: dict[str, Any]
    step: int
    path: Path


def newest_last_checkpoint(name: str = "*", root: str | Path = "outputs") -> Path:
    """The most recent ``last.ckpt`` of a run named ``name`` (a glob) under ``root``.

    Raises:
        CheckpointError: when there is none.
    """
    found = sorted(
        Path(root).glob(f"**/*-{name}/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime
    )
    if not found:
        what = "any run" if name == "*" else f"a run named '{name}'"
        raise CheckpointError(f"no last.ckpt of {what} under {root}/")
    return found[-1]


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Rebuilds the backbone and tokenizer saved by `musicgen-train`.

    A checkpoint is a pickle: loading one runs code it names, so load only files you trust,
    as with any pickle (`torch.load(weights_only=False)` is needed for the tokenizer and
    config dicts Lightning stores beside the weights).

    Args:
        path: A `.ckpt` file written by Lightning through `LanguageModel`.
        map_location: Where to put the tensors ("cpu", "cuda", a device).

    Returns:
        The model (eval mode), tokenizer, run config, global step and path.

    Raises:
        CheckpointError: One line naming the file and the problem when the file is missing,
            is not a torch checkpoint, lacks the musicgen entry, or its weights do not fit
            the model its config describes.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder; give the file, e.g. <run>/checkpoints/last.ckpt")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    ckpt = _read(path, map_location)
    entry = ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt, dict) else None
    if not isinstance(entry, dict) or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path}: a torch file but not a musicgen checkpoint (no {CHECKPOINT_KEY!r} entry "
            "or no state_dict); save it with musicgen-train"
        )
    config = entry.get("config") or {}
    if entry.get("tokenizer") is None or "model" not in config:
        raise CheckpointError(f"{path}: the checkpoint holds no tokenizer or no model config")
    try:
        tokenizer = tokenizer_from_dict(entry["tokenizer"])
        model = instantiate(config["model"])
    except Exception as err:  # any failure here means the stored entry is unusable
        raise CheckpointError(f"{path}: cannot rebuild the tokenizer or model: {err}") from err
    weights = {k[len(PREFIX) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(PREFIX)}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not fit the model config: {first}") from err
    model.to(map_location).eval()
    return LoadedCheckpoint(model, tokenizer, config, int(ckpt.get("global_step", 0)), path)


def _read(path: Path, map_location: str | torch.device) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    # a corrupt or foreign file can fail anywhere in unpickling, with any exception type
    except Exception as err:
        raise CheckpointError(f"{path}: not a torch checkpoint ({_reason(err)})") from err


def _reason(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
