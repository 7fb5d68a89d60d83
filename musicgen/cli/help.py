"""What the entry points' ``--help`` reads from ``conf/``: the options of a config group.

Each app's help text is its config's ``hydra.help.template``; its group listings are
``${config_groups:data,model,...}``, resolved when Hydra prints the help, so that a config
added to a group shows up by itself. Only PyYAML and OmegaConf: ``--help`` stays instant.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[1] / "conf"


def group_options(group: str) -> list[str]:
    """The options of ``conf/<group>/``, without the base configs the others extend (a base
    leaves ``name: ???`` for them to fill: ``data/music.yaml``, ``data/text.yaml``)."""
    names = []
    for path in sorted((CONF / group).glob("*.yaml")):
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if config.get("name") != "???":
            names.append(path.stem)
    return names


def config_groups(*groups: str) -> str:
    """``  group  a, b, c`` per group, wrapped at 88 columns."""
    width = max(len(g) for g in groups) + 4
    lines = []
    for group in groups:
        first, *rest = textwrap.wrap(", ".join(group_options(group)), width=88 - width) or [""]
        lines.append("  " + group.ljust(width - 2) + first)
        lines += [" " * width + line for line in rest]
    return "\n".join(lines)


OmegaConf.register_new_resolver("config_groups", config_groups, replace=True)
