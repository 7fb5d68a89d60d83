"""``musicgen-train``: train a language model on a corpus (Hydra app, conf/train.yaml).

This module imports only Hydra: torch, Lightning and the rest come in with
:mod:`musicgen.cli.train_run` once the command line is parsed, so ``--help`` is instant.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import musicgen.cli.help  # noqa: F401  (the help text's ${config_groups:...})
from musicgen.cli.common import fail_cleanly, terminal_in_log

# ${name} is the experiment's name; runs without an experiment are called "train".
OmegaConf.register_new_resolver(
    "or_train", lambda x: "train" if x in (None, "None", "null") else x, replace=True
)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        with terminal_in_log(), fail_cleanly("musicgen-train"):
            from musicgen.cli.train_run import train  # heavy imports, after parsing

            return train(cfg, run_dir)
    except BaseException:
        remove_if_empty(run_dir)
        raise


def remove_if_empty(run_dir: Path) -> None:
    """A run that failed before its first checkpoint leaves no folder behind (it would only
    hold Hydra's files and an empty log, and could be mistaken for a run).

    Only a folder holding nothing but what a run writes is removed, never one with other
    files (``hydra.run.dir=.`` must not empty the working folder).
    """
    ours = {".hydra", "train.log", "csv", "wandb", "wandb_run_id.txt", "checkpoints"}
    if not run_dir.is_dir() or any(p.name not in ours for p in run_dir.iterdir()):
        return
    if not any((run_dir / "checkpoints").glob("*.ckpt")):
        for handler in logging.getLogger().handlers:  # Hydra's job log lives in the folder
            if (
                isinstance(handler, logging.FileHandler)
                and Path(handler.baseFilename).parent == run_dir
            ):
                handler.close()
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
