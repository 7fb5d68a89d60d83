"""Load a training checkpoint back into a ready-to-sample backbone and its tokenizer.

`LanguageModel.on_save_checkpoint` stores, beside Lightning's `state_dict`, the tokenizer
and the resolved run config under `checkpoint["musicgen"]`; that is all we need to rebuild
the backbone, so a `.ckpt` file alone is enough to sample or evaluate.

A checkpoint is untrusted input (users download and share them), so nothing in one may
run code: the file is unpickled with `torch.load(weights_only=True)` (tensors and plain
data only), and objects are rebuilt from its stored config only through
`safe_instantiate`, which accepts the project's own model, data and tokenizer classes and
nothing else.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from musicgen.tokenizers import Tokenizer, tokenizer_from_dict
from musicgen.training.module import CHECKPOINT_KEY

# Lightning saves the LanguageModel's parameters; the backbone sits at `self.model`
PREFIX = "model."


class CheckpointError(ValueError):
    """A file that is missing, unreadable, or not a musicgen training checkpoint."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that would run code: pickled objects, or a config naming foreign classes."""


def _targets(*names: str) -> frozenset[str]:
    """Each class under its public name (``musicgen.models.X``) and its defining module's."""
    out = set()
    for name in names:
        package, module, cls = name.split(":")
        out |= {f"{package}.{cls}", f"{package}.{module}.{cls}"}
    return frozenset(out)


# What a stored config may name; compared as text, so nothing a checkpoint names is
# imported before it has passed (importing a module can run code too).
ALLOWED_TARGETS = {
    "model": _targets(
        "musicgen.models:recurrent:RecurrentLM",
        "musicgen.models:transformer:TransformerLM",
        "musicgen.models:harmonizer_lstm:LstmHarmonizer",
        "musicgen.models:harmonizer_transformer:TransformerHarmonizer",
    ),
    "data": _targets(
        "musicgen.data:music_datamodule:MusicDataModule",
        "musicgen.data:text:TextDataModule",
        "musicgen.data:pairs:HarmonyDataModule",
    ),
}
# the only nested objects a data config builds (conf/data/music.yaml, irish_char.yaml)
TOKENIZER_TARGETS = _targets(
    "musicgen.tokenizers:note:NoteTokenizer", "musicgen.tokenizers:char:CharTokenizer"
)
# what a stored config may hold besides nested configs; no tensors, no objects
PLAIN = (str, int, float, bool, type(None))
# pickle opcodes that import or call something
CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}


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
    """The most recent ``last.ckpt`` of a training run named ``name`` (a glob).

    Only single runs count, ``<root>/train/<date>/<time>-<name>/``: a sweep's jobs
    (``multirun/``) and ``debug=`` runs (``debug/``) never become ``last``.

    Raises:
        CheckpointError: when there is none.
    """
    runs = Path(root) / "train"
    found = sorted(runs.glob(f"*/*-{name}/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        what = "any training run" if name == "*" else f"a training run named '{name}'"
        raise CheckpointError(f"no last.ckpt of {what} under {runs}/; give ckpt=<file>")
    return found[-1]


def _with_kind(tokenizer: dict, config: dict) -> dict:
    """Checkpoints from before ``CharTokenizer.kind`` store no kind: a character tokenizer
    of a text corpus is then a text one (the default, ABC, is for music corpora)."""
    data = str((config.get("data") or {}).get("_target_", ""))
    if tokenizer.get("type") == "char" and "kind" not in tokenizer and "TextDataModule" in data:
        return {**tokenizer, "kind": "text"}
    return tokenizer


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Rebuilds the backbone and tokenizer saved by `musicgen-train`, running no code it holds.

    Args:
        path: A `.ckpt` file written by Lightning through `LanguageModel`.
        map_location: Where to put the tensors ("cpu", "cuda", a device).

    Returns:
        The model (eval mode), tokenizer, run config, global step and path.

    Raises:
        CheckpointError: One line naming the file and the problem when the file is missing,
            is a ready model whose sha256 differs from its manifest, is not a torch
            checkpoint, lacks the musicgen entry, or its weights do not fit
            the model its config describes.
        UnsafeCheckpointError: When it holds pickled objects, or its model or data config
            names a class that is not one of musicgen's own (see `safe_instantiate`).
    """
    from musicgen.training.ready import verify_ready  # ready.py builds on this module

    path = Path(path)
    verify_ready(path)  # a shipped model whose file differs from its manifest is refused
    ckpt = read_checkpoint(path, map_location)
    entry = ckpt[CHECKPOINT_KEY]
    config = entry.get("config") or {}
    if entry.get("tokenizer") is None or not isinstance(config, dict) or "model" not in config:
        raise CheckpointError(f"{path}: the checkpoint holds no tokenizer or no model config")
    if "data" in config:  # refused now, not only when a command rebuilds the corpus
        check_config(config["data"], path, "data")
    try:
        tokenizer = tokenizer_from_dict(_with_kind(entry["tokenizer"], config))
        model = safe_instantiate(config["model"], path, "model")
    except UnsafeCheckpointError:
        raise
    except Exception as err:  # any failure here means the stored entry is unusable
        raise CheckpointError(f"{path}: cannot rebuild the tokenizer or model: {err}") from err
    weights = {  # a ready model stores float16 (musicgen.training.ready): back to float32
        k[len(PREFIX) :]: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        for k, v in ckpt["state_dict"].items()
        if isinstance(k, str) and k.startswith(PREFIX)
    }
    try:
        model.load_state_dict(weights, strict=True)
    except Exception as err:  # a size mismatch, or values that are not tensors
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"{path}: weights do not fit the model config: {first}") from err
    model.to(map_location).eval()
    return LoadedCheckpoint(model, tokenizer, config, int(ckpt.get("global_step", 0)), path)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The raw contents of a musicgen checkpoint, unpickled with ``weights_only=True``.

    `musicgen-train ckpt_path=...` calls it before Lightning resumes, so a file that is not
    a musicgen checkpoint, or would run code, is refused with one line.

    Raises:
        CheckpointError: missing, a folder, not a torch file, or no musicgen entry.
        UnsafeCheckpointError: the file holds pickled objects beyond tensors and plain data.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder; give the file, e.g. <run>/checkpoints/last.ckpt")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    ckpt = _read(path, map_location)
    entry = ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt, dict) else None
    if not isinstance(entry, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise CheckpointError(
            f"{path}: a torch file but not a musicgen checkpoint (no {CHECKPOINT_KEY!r} entry "
            "or no state_dict); save it with musicgen-train"
        )
    return ckpt


def safe_instantiate(cfg: dict | DictConfig, path: str | Path, kind: str, overrides=None, **kwargs):
    """Builds a checkpoint's model or data module from its stored config, and nothing else.

    The only way sampling and evaluation rebuild objects from a checkpoint: the config is
    checked by `check_config` (the top-level target must be one of musicgen's ``kind``
    classes, nested ones its tokenizers; no ``_partial_``, no interpolations), then built
    with Hydra.

    Args:
        cfg: The stored config (``config["model"]`` or ``config["data"]``).
        path: The checkpoint it came from, for the error message.
        kind: "model" or "data".
        overrides: The user's own overrides (trusted), merged over ``cfg`` after the check
            and resolved; the merged config is checked again.
        **kwargs: Passed to the constructor, as with `hydra.utils.instantiate`.

    Raises:
        UnsafeCheckpointError: One line naming the file and the refused entry.
    """
    check_config(cfg, path, kind)
    if overrides:
        merged = OmegaConf.merge(OmegaConf.create(cfg), overrides)
        cfg = OmegaConf.to_container(merged, resolve=True)
        check_config(cfg, path, kind)
    elif isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=False)
    return instantiate(cfg, _convert_="all", **kwargs)


def check_config(cfg: Any, path: str | Path, kind: str) -> None:
    """Refuses a stored ``kind`` config that names anything but musicgen's own classes.

    Raises:
        UnsafeCheckpointError: One line naming the file and the refused entry.
    """
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=False)
    if not isinstance(cfg, dict):
        problem = f"it is a {type(cfg).__name__}, not a config with a _target_"
    elif cfg.get("_target_") not in ALLOWED_TARGETS[kind]:
        problem = f"_target_ {_show(cfg.get('_target_'))} is not one of musicgen's {kind} classes"
    else:
        problem = _refusal(cfg, kind, top=True)
    if problem:
        raise UnsafeCheckpointError(
            f"{path}: refused to build the checkpoint's {kind}: {problem}"
            " (a checkpoint may name only musicgen's own models, data modules and tokenizers)"
        )


def _refusal(node: Any, where: str, top: bool = False) -> str | None:
    """What in ``node`` (at ``where``) must not be built, or None when all of it may be."""
    if isinstance(node, str) and "${" in node:
        # Hydra resolves interpolations when it builds: ${oc.create:...} makes new configs
        return f"{where} is an interpolation {_show(node)}"
    if isinstance(node, PLAIN):
        return None
    if isinstance(node, list | tuple):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(node))
    elif isinstance(node, dict):
        if "_target_" in node and not top and node["_target_"] not in TOKENIZER_TARGETS:
            return f"{where}._target_ {_show(node['_target_'])} is not one of musicgen's tokenizers"
        if node.get("_partial_"):
            return f"{where} asks for _partial_ (a stored config never needs one)"
        if any(not isinstance(k, str) or "${" in k for k in node):
            return f"{where} has a key that is not plain text"
        items = ((f"{where}.{k}", v) for k, v in node.items())
    else:
        return f"{where} holds a {type(node).__name__}, not plain data"
    return next((p for w, v in items if (p := _refusal(v, w)) is not None), None)


def _show(value: Any) -> str:
    text = repr(value)  # repr keeps the message on one line
    return text if len(text) <= 80 else text[:77] + "..."


def _read(path: Path, map_location: str | torch.device) -> Any:
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": noise here
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only load failed" not in str(err).lower():
            raise CheckpointError(f"{path}: not a torch checkpoint ({_reason(err)})") from err
        if not _looks_pickled(path, err):  # torch's advice to retry unsafely does not apply
            raise CheckpointError(f"{path}: not a torch checkpoint ({_detail(err)})") from None
        raise UnsafeCheckpointError(
            f"{path}: refused: it holds pickled objects beyond tensors and plain data, which"
            f" could run code when loaded ({_detail(err)}); only checkpoints written by"
            " musicgen-train load"
        ) from None
    # a corrupt or foreign file can fail anywhere in unpickling, with any exception type
    except Exception as err:
        raise CheckpointError(f"{path}: not a torch checkpoint ({_reason(err)})") from err


_SNIFF_BYTES = 1 << 20  # a code-running opcode sits near a pickle's start


def _looks_pickled(path: Path, err: Exception) -> bool:
    """Whether the refused file is a pickle naming globals (a torch zip always is), rather
    than some text or noise the unpickler choked on."""
    if "GLOBAL" in str(err):
        return True
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head[:2] == b"PK":
        return True
    # the first pickle, read without running it, from a bounded copy in memory (a length
    # field in noise can ask for terabytes, which BytesIO simply cuts short); a code opcode
    # counts only in a pickle whose stack holds together (dis checks it): noise that
    # happens to start with one and a STOP names nothing
    try:
        if not any(op.name in CODE_OPCODES for op, _, _ in pickletools.genops(io.BytesIO(head))):
            return False
        pickletools.dis(io.BytesIO(head), out=io.StringIO())
    except (ValueError, EOFError, OverflowError):  # not a well-formed pickle, or cut short
        return False
    return True


def _detail(err: Exception) -> str:
    """The line of torch's long message that says what was refused."""
    for line in str(err).splitlines():
        if "GLOBAL" in line or "Unsupported" in line:
            return line.strip().removeprefix("WeightsUnpickler error:").strip()
    return "unreadable pickle"


def _reason(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
