"""``musicgen-eval``: loss and perplexity of one or more checkpoints on a split, the musical
metrics of their samples, harmonisation metrics; a JSON report and a table.

This module imports only Hydra: torch and the rest come in with :mod:`musicgen.cli.eval_run`
once the command line is parsed, so ``--help`` is instant.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from musicgen.cli.common import fail_cleanly


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    with fail_cleanly("musicgen-eval"):
        from musicgen.cli.eval_run import run  # heavy imports, after parsing

        run(cfg)


if __name__ == "__main__":
    main()
