"""TextDataModule on real text: WikiText-2 counts, windows, the cache, splits, download, errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from conftest import ROOT, SHARED_DATA
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from musicgen.data import CorpusNotFoundError, TextDataModule
from musicgen.data.text import download_wikitext2
from musicgen.data.text_corpus import TextCorpusError
from musicgen.data.text_download import ChecksumError
from musicgen.data.windows import IGNORE_INDEX
from musicgen.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

WIKITEXT2 = SHARED_DATA / "text" / "wikitext-2"
WORD = {"type": "word"}


def wikitext(cache_dir: Path, tokenizer: dict = WORD, **kw) -> TextDataModule:
    return TextDataModule(
        tokenizer, name="wikitext2", root=str(WIKITEXT2), cache_dir=str(cache_dir), **kw
    )


@pytest.fixture(scope="module")
def full_wikitext(shared_data, tmp_path_factory) -> TextDataModule:
    """WikiText-2 at word level, whole files (about 2 s to fit and tokenize)."""
    dm = wikitext(tmp_path_factory.mktemp("cache"), seq_len=35, batch_size=20)
    dm.prepare_data()
    dm.setup()
    return dm


def numbered_lines(path: Path, n: int, start: int = 0, final_newline: bool = True) -> Path:
    text = "\n".join(f"line {i}" for i in range(start, start + n))
    path.write_text(text + ("\n" if final_newline else ""), encoding="utf-8")
    return path


def test_full_wikitext2_has_the_published_vocabulary_and_word_counts(full_wikitext):
    m = full_wikitext.cache.manifest
    assert full_wikitext.vocab_size == 33278
    words = {split: s["words"] for split, s in m["splits"].items()}
    assert words == {"train": 2088628, "val": 217646, "test": 245569}
    assert [full_wikitext.word_count(s) for s in ("train", "val", "test")] == list(words.values())
    # at word level every word and every <eos> is one token
    assert [m["splits"][s]["tokens"] for s in ("train", "val", "test")] == list(words.values())
    assert m["splits"]["val"]["lines"] == 3760
    assert len(m["token_counts"]) == 33278 and sum(m["token_counts"]) == 2088628  # train only
    assert m["counts"] == {"files": 3, "documents": 3, "tokens": 2088628 + 217646 + 245569}
    assert [Path(s["path"]).name for s in m["sources"]] == ["train.txt", "valid.txt", "test.txt"]
    assert full_wikitext.splits == {"train": [0], "val": [1], "test": [2]}


def test_cached_split_is_the_encoded_text_and_windows_shift_by_one(full_wikitext):
    dm = full_wikitext
    val = dm.cache.document(1)
    assert val.tolist() == dm.tokenizer.encode(dm.text("val"))  # 1.1 MB: several chunks
    ds = dm.dataset("val")
    x, y = ds[3]
    assert torch.equal(y[:-1], x[1:])
    assert x.tolist() == val[3 * 35 : 4 * 35].tolist() and y[-1] == val[4 * 35]
    # the windows cover the split in order; the last one is padded and its tail ignored
    xs = torch.cat([ds[i][0] for i in range(len(ds))])
    assert xs[: len(val) - 1].tolist() == val[:-1].tolist()
    assert (ds[len(ds) - 1][1] == IGNORE_INDEX).any()
    text = dm.tokenizer.decode(val[:40].tolist())
    assert text.startswith("\n= Homarus gammarus =\n\nHomarus gammarus , known as the European")


def test_dataloaders_give_batches_of_windows(full_wikitext):
    x, y = next(iter(full_wikitext.train_dataloader()))
    assert x.shape == y.shape == (20, 35) and x.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert len(full_wikitext.test_dataloader().dataset) == -(-(245569 - 1) // 35)


def test_second_run_reuses_tokenizer_and_cache_and_a_new_spec_rebuilds(shared_data, tmp_path):
    first = wikitext(tmp_path, max_lines=300)
    built = first.prepare_data()
    [tok_file] = tmp_path.glob("wikitext2-tokenizer-*.json")
    stamp = tok_file.stat().st_mtime_ns
    again = wikitext(tmp_path, max_lines=300)
    reused = again.prepare_data()
    assert not built.reused and reused.reused and reused.path == built.path
    assert tok_file.stat().st_mtime_ns == stamp  # loaded, not fitted and written again
    assert again.tokenizer.vocab == first.tokenizer.vocab
    other = wikitext(tmp_path, {"type": "word", "min_freq": 2}, max_lines=300)
    rebuilt = other.prepare_data()
    assert not rebuilt.reused and rebuilt.path != built.path
    assert other.vocab_size < first.vocab_size
    assert len(list(tmp_path.glob("wikitext2-tokenizer-*.json"))) == 2


def test_max_lines_keeps_the_first_lines_of_each_split(shared_data, tmp_path):
    dm = wikitext(tmp_path, max_lines=10)
    full = (WIKITEXT2 / "test.txt").read_text(encoding="utf-8")
    assert dm.text("test") == "".join(full.splitlines(keepends=True)[:10])
    assert dm.prepare_data().manifest["splits"]["val"]["lines"] == 10


def test_bpe_cache_decodes_back_to_the_exact_text(shared_data, tmp_path):
    dm = wikitext(tmp_path, {"type": "bpe", "vocab_size": 600}, max_lines=200)
    cache = dm.prepare_data()
    assert dm.vocab_size == 600 and cache.manifest["tokenizer"]["type"] == "bpe"
    for i, split in enumerate(("train", "val", "test")):
        assert dm.tokenizer.decode(cache.document(i).tolist()) == dm.text(split)
    assert cache.manifest["splits"]["train"]["tokens"] > cache.manifest["splits"]["train"]["words"]


def test_files_are_cut_by_lines_into_contiguous_blocks(tmp_path):
    numbered_lines(tmp_path / "a.txt", 60)
    numbered_lines(tmp_path / "b.txt", 40, start=60, final_newline=False)
    dm = TextDataModule(
        {"type": "char"},
        name="numbers",
        files=str(tmp_path / "*.txt"),
        val_fraction=0.1,
        test_fraction=0.2,
        cache_dir=str(tmp_path / "cache"),
    )
    lines = {s: dm.text(s).splitlines() for s in ("train", "val", "test")}
    assert lines["train"] == [f"line {i}" for i in range(70)]
    assert lines["val"] == [f"line {i}" for i in range(70, 80)]
    assert lines["test"] == [f"line {i}" for i in range(80, 100)]  # b.txt's last line kept whole
    cache = dm.prepare_data()
    assert cache.manifest["counts"]["files"] == 2
    assert dm.tokenizer.decode(cache.document(0).tolist()) == dm.text("train")
    assert set(dm.tokenizer.vocab[4:]) == set("line 0123456789\n")  # fitted on train only


def test_download_fetches_verifies_and_keeps_good_files(shared_data, tmp_path):
    root = download_wikitext2(tmp_path / "wt2", base_url=WIKITEXT2.as_uri())
    for name in ("train.txt", "valid.txt", "test.txt"):
        assert (root / name).read_bytes() == (WIKITEXT2 / name).read_bytes()
    # files already there with the right digest are not fetched again
    assert download_wikitext2(root, base_url=(tmp_path / "nowhere").as_uri()) == root
    dm = TextDataModule(WORD, root=str(root), download=True, max_lines=5, cache_dir=str(tmp_path))
    assert dm.text("val").startswith(" \n = Homarus gammarus = \n")


def test_a_corrupt_download_is_refused_and_not_written(shared_data, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(WIKITEXT2, mirror)
    (mirror / "valid.txt").chmod(0o644)
    with open(mirror / "valid.txt", "a", encoding="utf-8") as f:
        f.write(" one more line \n")
    with pytest.raises(ChecksumError, match=r"valid\.txt: sha256 .* is not the published f0737ed"):
        download_wikitext2(tmp_path / "wt2", base_url=mirror.as_uri())
    assert not (tmp_path / "wt2" / "valid.txt").exists()
    assert not list((tmp_path / "wt2").glob(".*tmp*"))  # no half-written leftovers


def test_missing_or_unusable_inputs_name_the_path_and_the_problem(tmp_path):
    missing = tmp_path / "wikitext-2"
    with pytest.raises(
        CorpusNotFoundError, match=re.escape(f"{missing}: no such folder") + ".*data.download=true"
    ):
        _ = TextDataModule(WORD, root=str(missing), cache_dir=str(tmp_path)).vocab_size
    missing.mkdir()
    numbered_lines(missing / "train.txt", 5)
    with pytest.raises(CorpusNotFoundError, match=r"no valid\.txt or wiki\.valid\.tokens"):
        _ = TextDataModule(WORD, root=str(missing), cache_dir=str(tmp_path)).vocab_size
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(TextCorpusError, match=r"empty\.txt: the file is empty"):
        _ = TextDataModule(WORD, files=str(tmp_path / "empty.txt")).vocab_size
    with pytest.raises(CorpusNotFoundError, match=r"no text files match .*nothing-\*\.txt"):
        _ = TextDataModule(WORD, files=str(tmp_path / "nothing-*.txt")).vocab_size
    with pytest.raises(TextCorpusError, match=r"2 lines are too few"):
        _ = TextDataModule(WORD, files=str(numbered_lines(tmp_path / "two.txt", 2))).vocab_size
    with pytest.raises(ValueError, match="give either root .* or files"):
        TextDataModule(WORD, name="nothing")
    with pytest.raises(ValueError, match="add_bos_eos: false"):
        TextDataModule({"type": "char", "add_bos_eos": True}, files=str(tmp_path / "two.txt"))
    ok = numbered_lines(tmp_path / "ok.txt", 50)
    dm = TextDataModule(WORD, files=str(ok), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="call prepare_data"):
        dm.setup()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("wikitext2", WordTokenizer),
        ("wikitext2_bpe", BPETokenizer),
        ("wikitext2_char", CharTokenizer),
        ("tinyshakespeare", CharTokenizer),
    ],
)
def test_text_configs_compose_and_build_a_data_module(
    data, kind, shared_data, tmp_path, monkeypatch
):
    monkeypatch.setenv("MUSICGEN_SHARED_DATA", str(shared_data))
    with initialize_config_dir(config_dir=str(ROOT / "musicgen" / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={data}", f"data.cache_dir={tmp_path}"])
    dm = instantiate(cfg.data, max_lines=100, _convert_="all")
    assert isinstance(dm, TextDataModule) and dm.name == data
    assert isinstance(dm.tokenizer, kind)
    cache = dm.prepare_data()
    assert cache.manifest["splits"]["train"]["lines"] == 100
    assert dm.vocab_size == len(cache.manifest["token_counts"])
