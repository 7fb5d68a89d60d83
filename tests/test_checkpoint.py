"""`load_checkpoint`: a Lightning checkpoint gives back the same model and tokenizer; files
that are not musicgen checkpoints fail with one line that names them."""

from __future__ import annotations

import random
from pathlib import Path

import mido
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from musicgen.models import RecurrentLM, TransformerLM
from musicgen.tokenizers import NoteTokenizer
from musicgen.training.checkpoint import CheckpointError, UnsafeCheckpointError, load_checkpoint
from musicgen.training.module import LanguageModel

# the tiny fit below has no validation data on purpose
pytestmark = pytest.mark.filterwarnings("ignore:You defined a `validation_step`")

MODELS = {
    "lstm": {"_target_": "musicgen.models.RecurrentLM", "embed_dim": 16, "hidden_dim": 24},
    "transformer": {
        "_target_": "musicgen.models.TransformerLM", "d_model": 32, "n_layers": 1,
        "n_heads": 2, "max_len": 32, "dropout": 0.0,
    },
}  # fmt: skip


def save_trained(tmp_path: Path, name: str, tok: NoteTokenizer) -> tuple[Path, torch.nn.Module]:
    """Two training steps through Lightning, then a checkpoint as musicgen-train writes it."""
    torch.manual_seed(0)
    config = {"model": {**MODELS[name], "vocab_size": tok.vocab_size}, "seed": 0}
    cls = RecurrentLM if name == "lstm" else TransformerLM
    kwargs = {k: v for k, v in config["model"].items() if k != "_target_"}
    module = LanguageModel(cls(**kwargs), tokenizer=tok, warmup_steps=1, run_config=config)
    ids = torch.randint(0, tok.vocab_size, (4, 9))
    loader = DataLoader(TensorDataset(ids[:, :-1], ids[:, 1:]), batch_size=2)
    trainer = pl.Trainer(
        max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(module, loader)
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    return path, module.model.eval()


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    tok = NoteTokenizer()
    path, trained = save_trained(tmp_path, name, tok)
    loaded = load_checkpoint(path)
    assert not loaded.model.training
    assert type(loaded.model) is type(trained)
    assert loaded.step == 2 and loaded.path == path
    assert loaded.config["model"]["vocab_size"] == tok.vocab_size
    assert loaded.tokenizer.to_dict() == tok.to_dict()
    ids = torch.randint(0, tok.vocab_size, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(ids)[0], trained(ids)[0], rtol=0, atol=0)


def write_midi_file(path: Path) -> None:
    track = mido.MidiTrack([mido.Message("note_on", note=60), mido.Message("note_off", time=96)])
    mido.MidiFile(tracks=[track]).save(path)


@pytest.mark.parametrize(
    "make, problem",
    [
        (None, "no such checkpoint file"),
        (lambda p: p.write_bytes(random.Random(0).randbytes(4096)), "not a torch checkpoint"),
        # a pickle opcode whose length field asks for a terabyte (random bytes hit this now
        # and then): sniffing the refused file must not try to allocate it
        (
            lambda p: p.write_bytes(b"\x80\x04\x8e" + (1 << 40).to_bytes(8, "little")),
            "not a torch checkpoint",
        ),
        (lambda p: p.write_bytes(b""), "not a torch checkpoint"),
        (write_midi_file, "not a torch checkpoint"),
        (lambda p: torch.save({"state_dict": {}}, p), "not a musicgen checkpoint"),
        (lambda p: torch.save([1, 2], p), "not a musicgen checkpoint"),
    ],
    ids=[
        "missing",
        "random-bytes",
        "length-bomb",
        "empty",
        "midi",
        "plain-torch-dict",
        "torch-list",
    ],
)
def test_clear_errors(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "model.ckpt"
    if make is not None:
        make(path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and problem in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_weights_that_do_not_fit_the_config(tmp_path: Path) -> None:
    tok = NoteTokenizer()
    path, _ = save_trained(tmp_path, "lstm", tok)
    ckpt = torch.load(path, weights_only=False)
    ckpt["musicgen"]["config"]["model"]["hidden_dim"] = 32
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)


def test_a_character_tokenizer_of_a_text_corpus_from_before_kinds_loads_as_text():
    from musicgen.tokenizers import tokenizer_from_dict
    from musicgen.training.checkpoint import _with_kind

    old = {"type": "char", "chars": list("ab "), "add_bos_eos": True}  # no "kind": old code
    text = {"data": {"_target_": "musicgen.data.text.TextDataModule"}}
    music = {"data": {"_target_": "musicgen.data.music_datamodule.MusicDataModule"}}
    assert tokenizer_from_dict(_with_kind(old, text)).kind == "text"
    assert tokenizer_from_dict(_with_kind(old, music)).kind == "abc"


def test_noise_is_never_taken_for_a_hostile_pickle(tmp_path: Path) -> None:
    """300 files of random bytes: each is "not a torch checkpoint", never "refused" (noise
    can begin with a code opcode and a STOP; a pickle that names something must also hold
    together), and none raises anything else (a length field asking for a terabyte)."""
    path = tmp_path / "noise.ckpt"
    for seed in range(300):
        path.write_bytes(random.Random(seed).randbytes(4096))
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert not isinstance(info.value, UnsafeCheckpointError), f"seed {seed}: {info.value}"
        assert "not a torch checkpoint" in str(info.value), f"seed {seed}: {info.value}"
