"""``musicgen-prepare``: build a corpus's token cache and print its statistics.

This module imports only Hydra: the data modules (and torch) come in with
:mod:`musicgen.cli.prepare_run` once the command line is parsed, so ``--help`` is instant.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

import musicgen.cli.help  # noqa: F401  (the help text's ${config_groups:...})
from musicgen.cli.common import fail_cleanly, terminal_in_log


@hydra.main(version_base="1.3", config_path="../conf", config_name="prepare")
def main(cfg: DictConfig) -> None:
    with terminal_in_log(), fail_cleanly("musicgen-prepare"):
        from musicgen.cli.prepare_run import prepare  # heavy imports, after parsing

        prepare(cfg)


if __name__ == "__main__":
    main()
