"""Export a training checkpoint as a ready model: ``<name>.ckpt`` (float16) + ``<name>.json``.

    python scripts/export_ready.py outputs/train/.../checkpoints/last.ckpt folk \
        --commit $(git rev-parse --short HEAD) --out musicgen/ready
"""

from __future__ import annotations

import argparse
import json

from musicgen.training.checkpoint import CheckpointError
from musicgen.training.ready import PACKAGE_READY, export_ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="a checkpoint written by musicgen-train")
    parser.add_argument("name", help="the short name, e.g. folk (ckpt=folk)")
    parser.add_argument("--out", default=str(PACKAGE_READY), help="the ready folder")
    parser.add_argument(
        "--commit",
        default=None,
        help="the git commit it was trained at (default: the one musicgen-train recorded)",
    )
    parser.add_argument("--figures", default="{}", help="a JSON dict, e.g. '{\"val/ppl\": 3.1}'")
    parser.add_argument("--max-mb", type=float, default=10)
    args = parser.parse_args()
    try:
        path = export_ready(args.src, args.name, args.out, args.commit,
                            json.loads(args.figures), args.max_mb)  # fmt: skip
    except CheckpointError as err:
        raise SystemExit(f"export_ready.py: error: {err}") from None
    print(f"wrote {path} and {path.with_suffix('.json')}")
    commit = json.loads(path.with_suffix(".json").read_text())["commit"]
    if commit is None or commit.endswith("+dirty"):
        print(f"warning: the commit it was trained at is {commit or 'unknown'}: the code that"
              " made it cannot be checked out as it was; give --commit if you know it")  # fmt: skip


if __name__ == "__main__":
    main()
