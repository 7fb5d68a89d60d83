"""Training windows from a token cache: (x, y) with y the next token of each x."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

IGNORE_INDEX = -100  # targets past the end of a short split; cross-entropy skips them


class TokenWindows(Dataset):
    """Fixed windows over the concatenated documents of one split.

    The split's documents are read back to back (each already starts with ``<bos>`` and
    ends with ``<eos>``), cut into windows of ``seq_len + 1`` tokens that overlap by one:
    window i covers stream positions ``[i * seq_len, (i + 1) * seq_len]``. Nothing is
    copied up front; each item gathers its tokens from the memmap.

    Args:
        tokens: the cache's flat token memmap.
        offsets: document offsets into ``tokens`` (n_documents + 1,).
        documents: indices of this split's documents.
        seq_len: tokens per input window.
        pad_id: fills the input of a final short window.
        transpose: data augmentation, ``(max_semitones, fn)`` where ``fn(ids, k)`` returns
            the transposed ids or None; each item is moved by a random k in
            ``[-max_semitones, max_semitones]`` (0 or None: off).
    """

    def __init__(self, tokens, offsets, documents, seq_len: int, pad_id: int, transpose=None):
        starts = offsets[documents]
        lengths = offsets[np.asarray(documents) + 1] - starts
        self.tokens = tokens
        self.starts = np.asarray(starts, dtype=np.int64)
        self.cum = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.seq_len = seq_len
        self.pad_id = pad_id
        self.transpose = transpose if transpose and transpose[0] else None

    @property
    def n_tokens(self) -> int:
        return int(self.cum[-1])

    def __len__(self) -> int:
        if self.n_tokens < 2:
            return 0
        return max(1, -(-(self.n_tokens - 1) // self.seq_len))  # ceil: the tail is kept

    def gather(self, start: int, stop: int) -> np.ndarray:
        """Stream positions ``[start, stop)`` as one int64 array (across documents)."""
        out = np.empty(stop - start, dtype=np.int64)
        doc = int(np.searchsorted(self.cum, start, side="right")) - 1
        pos = start
        while pos < stop:
            inner = pos - self.cum[doc]
            take = min(stop, self.cum[doc + 1]) - pos
            src = self.starts[doc] + inner
            out[pos - start : pos - start + take] = self.tokens[src : src + take]
            pos += take
            doc += 1
        return out

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = i * self.seq_len
        stop = min(start + self.seq_len + 1, self.n_tokens)
        chunk = self.gather(start, stop)
        if self.transpose is not None:
            chunk = self._transposed(chunk)
        x = np.full(self.seq_len, self.pad_id, dtype=np.int64)
        y = np.full(self.seq_len, IGNORE_INDEX, dtype=np.int64)
        x[: len(chunk) - 1] = chunk[:-1]
        y[: len(chunk) - 1] = chunk[1:]
        return torch.from_numpy(x), torch.from_numpy(y)

    def _transposed(self, chunk: np.ndarray) -> np.ndarray:
        max_k, fn = self.transpose
        k = int(torch.randint(-max_k, max_k + 1, ()).item())
        moved = fn(chunk, k) if k else None
        return chunk if moved is None else moved


class ResumableSampler(torch.utils.data.Sampler[int]):
    """Shuffled window indices whose order is a pure function of (seed, epoch).

    Each rank takes every ``world_size``-th index of the epoch's permutation (padded so
    all ranks get the same count, as DDP needs). ``skip`` drops the first batches of the
    next epoch iterated, which is how a run resumed mid-epoch continues at the batch after
    the last one it trained on instead of starting the epoch again.

    Args:
        n: number of windows.
        seed: fixes every epoch's order.
        rank: this process's rank.
        world_size: number of processes.
    """

    def __init__(self, n: int, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.seed, self.rank, self.world_size = n, seed, rank, world_size
        self.epoch = 0
        self.skip = 0  # indices to drop at the start of the next iteration

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.n // self.world_size)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        order += order[: len(self) * self.world_size - self.n]  # pad to a multiple
        mine = order[self.rank :: self.world_size]
        skip, self.skip = self.skip, 0
        return iter(mine[skip:])
