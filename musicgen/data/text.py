"""``TextDataModule``: a text corpus (WikiText-2, Tiny Shakespeare, your files) as token windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from musicgen.data.cache import TokenCache
from musicgen.data.loaders import eval_loader, train_loader, check_stream_settings, check_window_settings
from musicgen.data.text_cache import fit_or_load_tokenizer, prepare_text_cache, text_cache_folder
from musicgen.data.text_corpus import ROOT_FILES, SPLITS, TextCorpus, read_files, read_root
from musicgen.data.text_download import WIKITEXT2_URL, download_wikitext2
from musicgen.data.windows import TokenWindows
from musicgen.tokenizers import Tokenizer

__all__ = ["WIKITEXT2_URL", "TextDataModule", "download_wikitext2"]


class TextDataModule(pl.LightningDataModule):
    """Fits a tokenizer on the training text, tokenizes the splits once, serves (x, y) windows.

    Each split is one token stream (one document of the cache): the windows of a split
    follow the text in order, and the last window of one split never reaches into the
    next. ``tokenizer`` and ``vocab_size`` work right after construction (the model needs
    the vocabulary size before training starts): the first use reads the corpus and fits
    the tokenizer, or loads the one a past run fitted.

    Args:
        tokenizer: a spec, ``{"type": "word" | "bpe" | "char", **options of its fit}``
            (a plain dict or Hydra's DictConfig).
        name: the corpus name, used in the cache files' names and in logs.
        root: a folder with ``train.txt``, ``valid.txt``, ``test.txt`` (or
            ``wiki.{train,valid,test}.tokens``), the WikiText layout.
        files: instead of ``root``: text files or globs, read in order and cut by lines
            into contiguous train, val, test blocks.
        val_fraction: share of lines for validation (``files`` only).
        test_fraction: share of lines for testing (``files`` only).
        max_lines: use only the first lines of each split (quick runs, tests).
        seq_len: tokens per training window.
        batch_size: windows per batch.
        seed: fixes the order of training windows.
        cache_dir: where the fitted tokenizer and the token cache live.
        num_workers: DataLoader worker processes.
        download: fetch WikiText-2 into ``root`` when its files are missing.
        stateful: serve ``batch_size`` contiguous streams in order, ``seq_len`` tokens of
            each per batch, for a model that carries its state (truncated BPTT, as in
            PyTorch's word_language_model) instead of shuffled windows.
        variable_bptt: with ``stateful``, draw each training batch's length as AWD-LSTM
            does (``seq_len`` with probability 0.95, else half, plus N(0, 5) noise).

    Raises:
        ValueError: unless exactly one of ``root`` and ``files`` is given, or for
            ``max_lines < 1``.
    """

    def __init__(
        self,
        tokenizer: Mapping[str, Any],
        name: str = "text",
        root: str | None = None,
        files: str | Sequence[str] | None = None,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        max_lines: int | None = None,
        seq_len: int = 128,
        batch_size: int = 32,
        seed: int = 0,
        cache_dir: str = "data/cache",
        num_workers: int = 0,
        download: bool = False,
        stateful: bool = False,
        variable_bptt: bool = False,
    ) -> None:
        super().__init__()
        check_window_settings(name, seq_len, batch_size, num_workers)
        check_stream_settings(name, stateful, variable_bptt)
        if (root is None) == (files is None):
            given = "both" if root is not None else "neither"
            raise ValueError(
                f"data {name!r}: give either root (a folder with train.txt, valid.txt,"
                f" test.txt) or files (text files cut by lines), not {given}"
            )
        if max_lines is not None and max_lines < 1:
            raise ValueError(f"data {name!r}: max_lines must be at least 1, not {max_lines}")
        self.spec = text_tokenizer_spec(tokenizer)
        self.name = name
        self.root = root
        self.files = files if files is None or isinstance(files, str) else list(files)
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.max_lines = max_lines
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.seed = seed
        self.cache_dir = cache_dir
        self.num_workers = num_workers
        self.stateful = stateful
        self.variable_bptt = variable_bptt
        self.download = download
        self._corpus: TextCorpus | None = None
        self._tokenizer: Tokenizer | None = None
        self.cache: TokenCache | None = None
        self.splits: dict[str, list[int]] = {}

    @property
    def corpus(self) -> TextCorpus:
        """The raw split texts, read on first use (downloading WikiText-2 if asked)."""
        if self._corpus is None:
            if self.root is not None:
                root = Path(self.root)
                if self.download and not all(
                    any((root / n).is_file() for n in names) for names in ROOT_FILES.values()
                ):
                    download_wikitext2(root)
                self._corpus = read_root(root, self.max_lines)
            else:
                self._corpus = read_files(
                    self.files, self.val_fraction, self.test_fraction, self.max_lines
                )
        return self._corpus

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer fitted on the training split (fitted once, then read from the cache)."""
        if self._tokenizer is None:
            self._tokenizer = fit_or_load_tokenizer(
                self.spec, self.corpus, self.cache_dir, self.name
            )
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def cache_folder(self) -> Path:
        """Where this corpus's token cache lives (built or not)."""
        return text_cache_folder(self.corpus, self.tokenizer, self.cache_dir, self.name)

    def prepare_data(self, progress: bool = True) -> TokenCache:
        """Build the token cache (or find it built); returns it.

        ``progress`` is accepted for symmetry with ``MusicDataModule`` (one process
        tokenizes a text corpus in seconds, without a progress bar).
        """
        return prepare_text_cache(self.corpus, self.tokenizer, self.cache_dir, self.name)

    def setup(self, stage: str | None = None) -> None:
        if self.cache is not None:
            return
        folder = self.cache_folder()
        if not (folder / "manifest.json").is_file():
            raise FileNotFoundError(f"token cache {folder} is not built: call prepare_data() first")
        self.cache = TokenCache.open(folder)
        self.splits = {split: [i] for i, split in enumerate(SPLITS)}


    def train_dataloader(self):
        return train_loader(self)

    def val_dataloader(self):
        return eval_loader(self, "val")

    def test_dataloader(self):
        return eval_loader(self, "test")

    def dataset(self, split: str) -> TokenWindows:
        """Windows over one split: ``y`` is ``x`` shifted by one token."""
        self.setup()
        return TokenWindows(
            self.cache.tokens,
            self.cache.offsets,
            self.splits[split],
            self.seq_len,
            self.tokenizer.pad_id,
        )

    def word_count(self, split: str) -> int:
        """Words plus one ``<eos>`` per line: the count word-level perplexity divides by."""
        self.setup()
        return int(self.cache.manifest["splits"][split]["words"])

    def text(self, split: str) -> str:
        """The split's raw text (prompts for sampling come from it)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; the splits are {', '.join(SPLITS)}")
        return self.corpus.texts[split]


def text_tokenizer_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-dict copy of a tokenizer spec, with the settings text corpora need.

    Raises:
        ValueError: for a char spec that asks for ``<bos>``/``<eos>`` around every text,
            which would mark the encoding chunks of one split instead of the split.
    """
    out = {str(k): v for k, v in spec.items()}
    if out.get("type") == "char":
        # one stream per split; newlines stay characters, as in char-rnn
        out.setdefault("add_bos_eos", False)
        if out["add_bos_eos"]:
            raise ValueError("char tokenizers of text corpora need add_bos_eos: false")
    return out
