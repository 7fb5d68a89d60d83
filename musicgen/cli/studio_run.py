"""What ``musicgen-studio`` does (its entry point, :mod:`musicgen.cli.studio`, imports this
module once the command line is parsed): load the checkpoint, serve the page.

The page reads the sampling defaults of ``conf/sampling/default.yaml`` and generates through
the same continuation (or, for a harmoniser, harmonisation) functions as ``musicgen-sample``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from omegaconf import DictConfig

from musicgen.cli.common import fail_cleanly
from musicgen.generation.studio_session import StudioSession
from musicgen.music import Score
from musicgen.training.checkpoint import load_checkpoint, safe_instantiate
from musicgen.training.ready import resolve_checkpoint

DEFAULTS = ("prompt_bars", "n_samples", "seed", "max_bars", "temperature", "top_k", "top_p",
            "repetition_penalty")  # fmt: skip


def serve(cfg: DictConfig) -> None:
    """Load ``cfg.ckpt`` (a user's mistake there is one line) and serve the page until
    stopped."""
    # before Gradio is imported: it would otherwise report usage and look for new versions
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up requests
    with fail_cleanly("musicgen-studio"):
        path = resolve_checkpoint(cfg.ckpt)
        ck = load_checkpoint(path)
        out = (
            Path(cfg.out_dir) if cfg.out_dir else Path(tempfile.mkdtemp(prefix="musicgen-studio-"))
        )
        heldout = heldout_tunes(ck, cfg.heldout_tunes) if ck.tokenizer.kind == "notes" else {}
        session = StudioSession(ck.model, ck.tokenizer, out, heldout)
    from musicgen.cli.studio_page import CSS, THEME, build_page  # Gradio costs ~2 s to import

    title = f"checkpoint `{path}` (step {ck.step}, {ck.tokenizer.kind})"
    page = build_page(session, {k: cfg[k] for k in DEFAULTS}, title, cfg.concurrency)
    page.queue(default_concurrency_limit=cfg.concurrency)
    print(f"musicgen-studio: samples are written under {out}", flush=True)
    page.launch(
        server_name=cfg.host, server_port=cfg.port, share=False, theme=THEME, css=CSS,
        ssr_mode=False, allowed_paths=[str(out)], max_file_size="4mb", footer_links=[],
        quiet=False,
    )  # fmt: skip


def heldout_tunes(ck, n: int) -> dict[str, Score]:
    """The first ``n`` test-split tunes of the checkpoint's corpus, by (unique) title.

    An empty dict, with a note on stderr, when the corpus cannot be rebuilt here (its files
    are elsewhere): the page then offers uploads only.
    """
    if n <= 0 or not ck.config.get("data"):
        return {}
    try:
        data = safe_instantiate(ck.config["data"], ck.path, "data")
        data.prepare_data(progress=False)  # finds the cache the training run built
        tunes = data.tunes("test", n)
    except (OSError, ValueError) as err:
        print(f"musicgen-studio: no held-out tunes offered ({err})", file=sys.stderr)
        return {}
    by_title: dict[str, Score] = {}
    for i, tune in enumerate(tunes):
        name = tune.title or f"tune {i + 1}"
        if name in by_title:
            name = f"{name} ({i + 1})"
        by_title[name] = tune
    return by_title
