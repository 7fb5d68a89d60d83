"""``HarmonyDataModule``: (melody, chords) pairs from ABC tunes with chord symbols, or from
MIDI melody files with their chord files beside them (``source="midi"``, see
:mod:`musicgen.data.midi_pairs`).

Each tune gives one pair, ``HarmonyTokenizer.encode_melody`` features as the source and
one chord token per beat as the target, split by tune with ``split_documents`` (a tune's
split depends only on its notes and the seed). The pairs are read in memory, not through
the token cache: the cache serves one flat token stream, while a pair is two aligned
sequences, and the Nottingham tunes read in under a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from musicgen.data.documents import notes_hash
from musicgen.data.midi_pairs import iter_midi_pairs
from musicgen.data.sources import resolve_files
from musicgen.data.splits import split_documents
from musicgen.data.windows import IGNORE_INDEX
from musicgen.music import MusicFormatError, Score
from musicgen.music.abc.reader import iter_abc_tunes
from musicgen.tokenizers.chords import ChordCounter
from musicgen.tokenizers.harmony import HarmonyInputError, HarmonyTokenizer


def collate_pairs(pairs: Sequence[tuple[list, list]]) -> tuple[torch.Tensor, ...]:
    """Pads a batch: ``(src (B, S, 4), tgt_in (B, T), tgt_out (B, T))``.

    ``tgt_in`` is ``<bos>`` and the chords of beats 0 … T-2, ``tgt_out`` the chords of beats
    0 … T-1 (teacher forcing); padding is 0 in the inputs and ``IGNORE_INDEX`` in the output.
    """
    S = max(len(s) for s, _ in pairs)
    T = max(len(t) for _, t in pairs) - 1
    src = torch.zeros(len(pairs), S, 4, dtype=torch.long)
    tgt_in = torch.zeros(len(pairs), T, dtype=torch.long)
    tgt_out = torch.full((len(pairs), T), IGNORE_INDEX, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, : len(s)] = torch.tensor(s, dtype=torch.long).view(-1, 4)
        tgt_in[i, : len(t) - 1] = torch.tensor(t[:-1])
        tgt_out[i, : len(t) - 1] = torch.tensor(t[1:])
    return src, tgt_in, tgt_out


SOURCES = {"abc": "abc", "midi": "midi"}  # a pair source and the kind of file it reads


class HarmonyDataModule(pl.LightningDataModule):
    """Melody → chord pairs, split by tune.

    Args:
        files: ABC files, or with ``source="midi"`` MIDI melody files (a glob, folder, file
            or list); tunes without chord symbols (or chord file), and tunes that are not a
            single melodic line, are skipped and recorded in ``skipped``.
        name: the corpus name, for logs.
        batch_size: tunes per batch.
        val_fraction: share of tunes held out for validation.
        test_fraction: share held out for testing.
        seed: fixes the split and the shuffling.
        max_beats: longest tune in beats; longer ones are cut.
        key_relative: transpose each tune to a tonic of C (``HarmonyTokenizer``).
        bucket: batch training tunes of similar length together (the LSTM decoder steps
            through the longest tune of a batch: padding costs as much as chords).
        num_workers: DataLoader worker processes.
        source: ``"abc"`` (chord symbols in the tunes) or ``"midi"`` (each ``melody/X.mid``
            paired with ``chords/X.mid``, its chords named by the notes that sound).
    """

    def __init__(
        self,
        files: str | Sequence[str],
        name: str = "pairs",
        batch_size: int = 16,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        max_beats: int = 1024,
        key_relative: bool = False,
        bucket: bool = False,
        num_workers: int = 0,
        source: str = "abc",
    ) -> None:
        super().__init__()
        if source not in SOURCES:
            raise ValueError(f"unknown pair source {source!r}: choose one of {sorted(SOURCES)}")
        self.source = source
        self.files, self.name, self.batch_size = files, name, batch_size
        self.val_fraction, self.test_fraction, self.seed = val_fraction, test_fraction, seed
        self.num_workers, self.bucket = num_workers, bucket
        self.tokenizer = HarmonyTokenizer(max_beats, key_relative)
        self.scores: list[Score] = []
        self.pairs: list[tuple[list, list]] = []
        self.skipped: list[str] = []
        self.chords = ChordCounter()
        self.splits: dict = {}

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def prepare_data(self, progress: bool = True) -> None:
        """Nothing to prepare: the pairs are read in memory by ``setup``."""

    def setup(self, stage: str | None = None) -> None:
        if self.pairs:
            return
        seen = set()
        for score, where in self._tunes():
            digest = notes_hash(score)
            if not score.chord_symbols or digest in seen:
                self.skipped.append(f"{where}: no chord symbols" if digest not in seen
                                    else f"{where}: a duplicate")  # fmt: skip
                continue
            try:
                src = self.tokenizer.encode_melody(score, where)
            except HarmonyInputError as err:
                self.skipped.append(str(err))
                continue
            seen.add(digest)
            self.chords.add(c.text for c in score.chord_symbols)
            self.scores.append(score)
            self.pairs.append((src, self.tokenizer.encode(score)))
        hashes = [notes_hash(s) for s in self.scores]
        self.splits = split_documents(hashes, self.val_fraction, self.test_fraction, self.seed)

    def _tunes(self):
        """``(score, where)`` for each readable tune of ``files``; the others go to ``skipped``."""
        paths = resolve_files(self.files, kind=SOURCES[self.source])
        if self.source == "midi":
            return iter_midi_pairs(paths, self.skipped)
        return (tune for path in paths for tune in _read_tunes(path, self.skipped))

    def dataset(self, split: str) -> list[tuple[list, list]]:
        self.setup()
        return [self.pairs[int(i)] for i in self.splits[split]]

    def tunes(self, split: str, n: int | None = None) -> list[Score]:
        """The scores of a split (the first ``n``)."""
        self.setup()
        return [self.scores[int(i)] for i in self.splits[split][:n]]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if shuffle:  # training: shuffled batches, this rank's share of them
            pairs, trainer = self.dataset(split), self.trainer
            rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
            batches = LengthBuckets(
                [len(t) for _, t in pairs], self.batch_size,
                torch.Generator().manual_seed(self.seed), pool=8 if self.bucket else 1,
                rank=rank, world_size=world,
            )  # fmt: skip
            return DataLoader(pairs, batch_sampler=batches, collate_fn=collate_pairs,
                              num_workers=self.num_workers)  # fmt: skip
        return DataLoader(
            self.dataset(split), batch_size=self.batch_size, shuffle=False,
            collate_fn=collate_pairs, num_workers=self.num_workers,
        )  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


class LengthBuckets:
    """Batches of indices, shuffled each epoch, each of similar lengths: the shuffled
    indices are cut into pools of ``pool`` batches, each pool sorted by length and cut into
    batches, and the batches shuffled (the bucketing of Sutskever et al. 2014's batches;
    ``pool=1`` is plain shuffled batches).

    Under DDP each rank takes every ``world_size``-th batch of the same shuffled order (the
    trainer config leaves sharding to the data: ``use_distributed_sampler: false``), the
    list wrapped around so that every rank gets as many batches (DDP waits for all ranks).
    """

    def __init__(
        self, lengths: Sequence[int], batch_size: int, generator: torch.Generator,
        pool: int = 8, rank: int = 0, world_size: int = 1,
    ):  # fmt: skip
        self.lengths, self.batch_size, self.generator = list(lengths), batch_size, generator
        self.pool, self.rank, self.world_size = pool, rank, world_size

    def __len__(self) -> int:
        batches = math.ceil(len(self.lengths) / self.batch_size)
        return math.ceil(batches / self.world_size)

    def __iter__(self):
        order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        pool, batches = self.pool * self.batch_size, []
        for i in range(0, len(order), pool):
            part = sorted(order[i : i + pool], key=self.lengths.__getitem__)
            batches += [part[j : j + self.batch_size] for j in range(0, len(part), self.batch_size)]
        shuffled = [batches[k] for k in torch.randperm(len(batches), generator=self.generator)]
        for k in range(self.rank, len(self) * self.world_size, self.world_size):
            yield shuffled[k % len(shuffled)]


def _read_tunes(path, skipped: list[str]):
    """``(score, "file, tune X: title")`` for each readable tune of an ABC file."""
    for _, item in iter_abc_tunes(path, warnings=[]):  # a dropped token keeps the tune
        if isinstance(item, MusicFormatError):
            skipped.append(str(item))  # the reader's message names the file and tune
            continue
        yield item, f"{path.name}, tune {item.title!r}"
