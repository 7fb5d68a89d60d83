"""``musicgen-studio``: a local page to choose a prompt, hear and see continuations.

    musicgen-studio ckpt=outputs/.../checkpoints/last.ckpt      # then open the printed URL

This module imports only Hydra: torch and Gradio come in with :mod:`musicgen.cli.studio_run`
once the command line is parsed, so ``--help`` is instant.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="../conf", config_name="studio")
def main(cfg: DictConfig) -> None:
    from musicgen.cli.studio_run import serve  # heavy imports, after parsing

    serve(cfg)


if __name__ == "__main__":
    main()
