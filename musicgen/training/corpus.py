"""A checkpoint's own corpus, rebuilt from the data config it carries."""

from __future__ import annotations

from omegaconf import DictConfig

from musicgen.training.checkpoint import CheckpointError, LoadedCheckpoint, safe_instantiate


def checkpoint_corpus(ck: LoadedCheckpoint, overrides: DictConfig | dict | None = None):
    """The data module the checkpoint was trained on, prepared and set up.

    Its data config (with ``overrides``, e.g. ``{"root": ...}`` when the corpus moved) is
    rebuilt through the allow-list of :func:`safe_instantiate`; the token cache the training
    run made is found again by its key (or built once).

    Raises:
        CheckpointError: when the checkpoint has no data config, names a target outside the
            allow-list, or the corpus now gives another tokenizer than the model's (the data
            or its settings changed, so splits and ids would not be the training run's).
    """
    if "data" not in ck.config:
        raise CheckpointError(f"{ck.path}: the checkpoint's config has no data section")
    dm = safe_instantiate(ck.config["data"], ck.path, "data", overrides=overrides)
    if dm.tokenizer.to_dict() != ck.tokenizer.to_dict():
        raise CheckpointError(
            f"{ck.path}: the corpus now gives a different tokenizer than the one the model was"
            " trained with (the data or its settings changed); pass data overrides that"
            " rebuild the training corpus"
        )
    dm.prepare_data(progress=False)
    dm.setup()
    return dm
