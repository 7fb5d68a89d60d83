"""Stateful batches for recurrent models: a split cut into parallel contiguous streams.

Truncated backpropagation through time as in PyTorch's word_language_model example (WLM)
and AWD-LSTM (Merity et al. 2017): the split is cut into ``streams`` contiguous parts laid
side by side, and batch i is the next ``bptt`` tokens of every part, so row k of batch
i + 1 starts where row k of batch i ended. The model carries its state from batch to
batch (``LanguageModel(stateful=True)``) and every token is predicted with all the text
before it in its stream.

Validation uses the same cut as ``musicgen.evaluation.likelihood.stream_nll`` (equal parts
plus a short tail scored on its own), so the two report the same loss on the same split.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from musicgen.data.windows import TokenWindows

# AWD-LSTM's variable BPTT: the base length with probability 0.95, else half of it; the
# length drawn from N(base, 5), at least 5 and at most bptt + 40 (its max_seq_len_delta)
FULL_LENGTH_P, LENGTH_SD, MIN_LENGTH, MAX_EXTRA = 0.95, 5.0, 5, 40


def stream_cut(n_tokens: int, streams: int) -> tuple[int, int]:
    """``(length, tail)``: ``streams`` equal parts of ``length`` tokens, then ``tail`` left.

    Fewer parts when the split is short (each needs two tokens); the one cut both
    validation and ``stream_nll`` use.
    """
    streams = max(1, min(streams, n_tokens // 2))
    length = n_tokens // streams
    return length, n_tokens - streams * length


class StreamBatches(Dataset):
    """Batches of parallel contiguous streams over one split (see the module docstring).

    Items are addressed by a span ``(offset, T)``: inputs at positions ``offset ..
    offset + T - 1`` of every stream, targets one further. The span ``TAIL`` is the split's
    last tokens that the equal parts leave over, as a one-row batch (validation only).

    Args:
        windows: the split, whose ``gather`` reads stream positions across documents.
        streams: parallel streams per rank (the batch size).
        rank: this process's rank; each rank takes its own ``streams`` consecutive parts.
        world_size: number of processes.
    """

    TAIL = (-1, -1)

    def __init__(self, windows: TokenWindows, streams: int, rank: int = 0, world_size: int = 1):
        self.windows = windows
        self.length, tail = stream_cut(windows.n_tokens, streams * world_size)
        parts = (windows.n_tokens - tail) // self.length if self.length else 0
        mine = range(rank * parts // world_size, (rank + 1) * parts // world_size)
        self.starts = [k * self.length for k in mine]
        # the tail belongs to the last rank, as stream_nll scores it after the parts
        self.tail = tail if rank == world_size - 1 else 0

    def __getitem__(self, span: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(span) == self.TAIL:
            n = self.windows.n_tokens
            rows = [self.windows.gather(n - self.tail - 1, n)]
        else:
            offset, size = span
            rows = [self.windows.gather(s + offset, s + offset + size + 1) for s in self.starts]
        chunk = torch.from_numpy(np.stack(rows))  # (B, T + 1)
        return chunk[:, :-1], chunk[:, 1:]


class StreamSampler(torch.utils.data.Sampler[tuple[int, int]]):
    """The spans of one epoch, in order: fixed ``bptt`` or AWD-LSTM's variable lengths.

    The lengths are a pure function of (seed, epoch), so a run resumed mid-epoch skips the
    ``skip`` spans it has trained on and continues the same streams at the same places.

    Args:
        length: tokens per stream (``length - 1`` inputs are served).
        bptt: tokens per batch (the base length when ``variable``).
        seed: fixes the variable lengths.
        variable: draw each batch's length as AWD-LSTM does.
        tail: end with ``StreamBatches.TAIL`` (a split's leftover tokens, for validation).
    """

    def __init__(
        self, length: int, bptt: int, seed: int = 0, variable: bool = False, tail: bool = False
    ) -> None:
        self.length, self.bptt, self.seed = length, bptt, seed
        self.variable, self.tail = variable, tail
        self.epoch = 0
        self.skip = 0  # spans to drop at the start of the next iteration

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def spans(self) -> list[tuple[int, int]]:
        """This epoch's ``(offset, T)`` spans, covering every input position once."""
        rng = np.random.default_rng([self.seed, self.epoch])
        out, offset, last = [], 0, self.length - 1
        while offset < last:
            size = self.bptt
            if self.variable:
                base = self.bptt if rng.random() < FULL_LENGTH_P else self.bptt / 2
                size = int(np.clip(rng.normal(base, LENGTH_SD), MIN_LENGTH, self.bptt + MAX_EXTRA))
            size = min(size, last - offset)
            out.append((offset, size))
            offset += size
        if self.tail:
            out.append(StreamBatches.TAIL)
        return out

    def __len__(self) -> int:
        return len(self.spans())

    def __iter__(self):
        skip, self.skip = self.skip, 0
        return iter(self.spans()[skip:])
