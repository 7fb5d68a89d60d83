"""Checkpoints written by earlier versions still load and sample.

``tests/assets/note_ckpt_main_cdce7f0.ckpt`` was trained (6 steps, a 1-layer Transformer of
width 32, on music21's Essen book altdeu10) by ``musicgen-train`` at commit cdce7f0, the
last commit before the package took its current shape (``musicgen.lm``,
``musicgen.checkpoint`` at the top level). Its stored config names those old modules.
"""

from __future__ import annotations

from conftest import ASSETS, run

from musicgen.music import read_midi
from musicgen.tokenizers import NoteTokenizer
from musicgen.training.checkpoint import load_checkpoint

OLD = ASSETS / "note_ckpt_main_cdce7f0.ckpt"


def test_an_old_checkpoint_loads_with_its_tokenizer_and_step():
    ck = load_checkpoint(OLD)
    assert ck.step == 6 and isinstance(ck.tokenizer, NoteTokenizer)
    assert ck.config["module"]["_target_"] == "musicgen.lm.LanguageModel"  # the old layout


def test_an_old_checkpoint_samples_from_the_command_line(tmp_path):
    out = tmp_path / "samples"
    res = run("musicgen-sample", f"ckpt={OLD}", "n_samples=2", "max_bars=2", "seed=0",
              "audio=false", f"out_dir={out}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    mids = sorted(out.glob("sample_*.mid"))
    assert len(mids) == 2 and all(read_midi(m) is not None for m in mids)
