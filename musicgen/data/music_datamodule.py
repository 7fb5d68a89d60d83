"""``MusicDataModule``: a corpus of ABC/MIDI files served as token windows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl

from musicgen.data.cache import TokenCache, cache_folder, prepare_cache
from musicgen.data.loaders import eval_loader, train_loader, check_stream_settings, check_window_settings
from musicgen.data.sources import folk_files, resolve_files
from musicgen.data.splits import split_documents
from musicgen.data.windows import TokenWindows
from musicgen.tokenizers import build_tokenizer


class MusicDataModule(pl.LightningDataModule):
    """Prepares a music corpus once into a token cache and serves (x, y) windows.

    Only one process prepares (Lightning calls ``prepare_data`` on local rank 0); every
    rank then opens the same cache in ``setup``.

    Args:
        tokenizer: a ``NoteTokenizer`` or ``CharTokenizer``, or its spec
            (``{"type": "note", **settings}``, as ``data/music.yaml`` writes it).
        name: the corpus name, used in the cache folder's name and in logs.
        files: a glob, folder, file or list of them; None means the embedded folk corpus
            (the Essen, O'Neill's 1850 and Ryan's Mammoth collections shipped in music21).
        seq_len: tokens per training window.
        batch_size: windows per batch.
        val_fraction: share of tunes held out for validation.
        test_fraction: share of tunes held out for testing.
        seed: fixes the split.
        cache_dir: where token caches live.
        num_workers: DataLoader worker processes.
        prepare_workers: processes that tokenize the corpus (None: the CPU count).
        transpose: data augmentation: each training window is moved by a random number of
            semitones in ``[-transpose, transpose]`` with its key (0: off; note tokens only).
        expand_repeats: read ABC repeats and endings in played order.
        stateful: serve ``batch_size`` contiguous streams in order, ``seq_len`` tokens of
            each per batch, for a model that carries its state (truncated BPTT, as in
            PyTorch's word_language_model) instead of shuffled windows.
        variable_bptt: with ``stateful``, draw each training batch's length as AWD-LSTM
            does (``seq_len`` with probability 0.95, else half, plus N(0, 5) noise).
    """

    def __init__(
        self,
        tokenizer,
        name: str = "folk",
        files: str | Sequence[str] | None = None,
        seq_len: int = 256,
        batch_size: int = 32,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        seed: int = 0,
        cache_dir: str = "data/cache",
        num_workers: int = 0,
        prepare_workers: int | None = None,
        transpose: int = 0,
        expand_repeats: bool = False,
        stateful: bool = False,
        variable_bptt: bool = False,
    ) -> None:
        super().__init__()
        tokenizer = build_tokenizer(tokenizer)
        check_window_settings(name, seq_len, batch_size, num_workers)
        check_stream_settings(name, stateful, variable_bptt)
        if transpose and not hasattr(tokenizer, "transpose_ids"):
            raise ValueError(
                f"transpose={transpose} needs note tokens;"
                f" {type(tokenizer).__name__} cannot transpose"
            )
        self.tokenizer = tokenizer
        self.name = name
        self.files = files
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.seed = seed
        self.cache_dir = cache_dir
        self.num_workers = num_workers
        self.stateful = stateful
        self.variable_bptt = variable_bptt
        self.prepare_workers = prepare_workers
        self.transpose = transpose
        self.expand_repeats = expand_repeats
        self.cache: TokenCache | None = None
        self.splits: dict = {}

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def source_files(self) -> list[Path]:
        return folk_files() if self.files is None else resolve_files(self.files)

    def prepare_data(self, progress: bool = True) -> TokenCache:
        """Build the token cache (or find it built); returns it."""
        return prepare_cache(
            self.source_files(),
            self.tokenizer,
            self.cache_dir,
            name=self.name,
            expand_repeats=self.expand_repeats,
            num_workers=self.prepare_workers,
            progress=progress,
        )

    def setup(self, stage: str | None = None) -> None:
        if self.cache is not None:
            return
        folder = cache_folder(
            self.source_files(), self.tokenizer, self.cache_dir, self.name, self.expand_repeats
        )
        if not (folder / "manifest.json").is_file():
            raise FileNotFoundError(f"token cache {folder} is not built: call prepare_data() first")
        self.cache = TokenCache.open(folder)
        hashes = [d[3] for d in self.cache.manifest["documents"]]
        self.splits = split_documents(hashes, self.val_fraction, self.test_fraction, self.seed)


    def train_dataloader(self):
        return train_loader(self)

    def val_dataloader(self):
        return eval_loader(self, "val")

    def test_dataloader(self):
        return eval_loader(self, "test")

    def dataset(self, split: str) -> TokenWindows:
        self.setup()
        transpose = None
        if split == "train" and self.transpose:
            transpose = (self.transpose, self.tokenizer.transpose_ids)
        return TokenWindows(
            self.cache.tokens,
            self.cache.offsets,
            self.splits[split],
            self.seq_len,
            self.tokenizer.pad_id,
            transpose,
        )

    def tunes(self, split: str, n: int) -> list:
        """The first ``n`` tunes of a split, decoded from the cache (note tokens only)."""
        self.setup()
        docs = self.splits[split][:n]
        scores = [self.tokenizer.decode(self.cache.document(int(i)).tolist()) for i in docs]
        for i, score in zip(docs, scores, strict=True):
            score.title = self.cache.manifest["documents"][int(i)][2]
        return scores
