"""``musicgen-sample``: continue a MIDI or ABC prompt with a checkpoint; MIDI, WAV and PNG out.

This module imports only Hydra: torch, Lightning and the rest come in with
:mod:`musicgen.cli.sample_run` once the command line is parsed, so ``--help`` is instant.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from musicgen.cli.common import fail_cleanly


@hydra.main(version_base="1.3", config_path="../conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    with fail_cleanly("musicgen-sample"):
        from musicgen.cli.sample_run import run  # heavy imports, after parsing

        run(cfg)


if __name__ == "__main__":
    main()
