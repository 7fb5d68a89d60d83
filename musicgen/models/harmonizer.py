"""What both encoder–decoder harmonisers share: the melody embedding and masked attention.

Both follow one interface, ``forward(src, tgt, state=None, need_weights=False) ->
(logits, state)``: ``src`` is the melody (B, S, 4) as ``HarmonyTokenizer.encode_melody``
features (pitch, duration, position in bar, beat; 0 pads), ``tgt`` the chord ids fed so
far (B, T). ``state=None`` encodes the melody; a returned state holds the encoder output
(computed once) and the decoder's own state, so feeding it back with the next chord costs
one decoder step. With ``need_weights`` the state's ``attention`` holds the alignment
(B, T, S) of these T steps: for each chord step, its weights over the melody's notes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from musicgen.models.positional import SinusoidalPositions

PITCH, DURATION, POSITION, BEAT = range(4)  # the columns of a source tensor


class MelodyEmbedding(nn.Module):
    """Sum of pitch, duration and position-in-bar embeddings plus the note's beat as a
    sinusoid: the same table encodes chord step t's beat, so a query can find its beat's
    notes by content (the alignment the attention test checks).

    Args:
        feature_sizes: id ranges of the pitch, duration and position features.
        d_model: embedding width.
        max_beats: beats the time table covers.
    """

    def __init__(self, feature_sizes: tuple[int, ...], d_model: int, max_beats: int) -> None:
        super().__init__()
        self.features = nn.ModuleList(
            nn.Embedding(n, d_model, padding_idx=0) for n in feature_sizes
        )
        self.time = SinusoidalPositions(max_beats, d_model)

    def forward(self, src: torch.Tensor) -> torch.Tensor:
        x = sum(emb(src[..., i]) for i, emb in enumerate(self.features))  # (B, S, C)
        return x + self.beats(src[..., BEAT])

    def beats(self, beats: torch.Tensor) -> torch.Tensor:
        """The time encoding of beat numbers (any shape) -> (*shape, C)."""
        return self.time.table[beats.clamp(0, self.time.table.size(0) - 1)]


class BeatDistance(nn.Module):
    """A learned prior of attention across the two sequences: −slope_h · |b_s − t|, added to
    the scores of chord step t (beat t) for the note s that starts in beat b_s.

    ALiBi's linear distance penalty (Press et al. 2022) measured between the sequences, in
    beats, with one learned slope per head, like the location-aware attention of Chorowski
    et al. 2015: attention starts near the chord's own beat instead of having to find it
    by matching sinusoids, which took the harmonisers hundreds of steps on Nottingham
    (until then they read the key from the whole melody and held one chord). A slope
    that learns to be 0 gives back plain content attention.

    Args:
        n_heads: heads; their slopes start at 1, 1/2, 1/4, … per beat.
    """

    def __init__(self, n_heads: int) -> None:
        super().__init__()
        self.log_slope = nn.Parameter(-torch.arange(n_heads) * math.log(2.0))

    def forward(self, note_beats: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """The bias (B, nh, T, S) for notes' beats (B, S) and steps (T,)."""
        distance = (note_beats[:, None, None, :] - steps[None, None, :, None]).abs()
        return -self.log_slope.exp()[None, :, None, None] * distance.float()


def source_mask(src: torch.Tensor) -> torch.Tensor:
    """True where ``src`` (B, S, 4) holds a note, False at padding: (B, S)."""
    return src[..., PITCH] != 0


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor,
    dropout_p: float = 0.0,
    need_weights: bool = False,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention of queries over the melody's keys, padding masked out.

    Args:
        q: (B, nh, T, hs); k, v: (B, nh, S, hs); mask: (B, S), True = a note.
        need_weights: also return the weights; computed explicitly, as
            ``F.scaled_dot_product_attention`` (used otherwise) does not give them.
        bias: added to the scores, (B, nh, T, S) (:class:`BeatDistance`).

    Returns:
        Output (B, nh, T, hs) and the weights (B, nh, T, S), or None.
    """
    keep = mask[:, None, None, :]  # (B, 1, 1, S)
    if bias is not None:
        keep = bias.masked_fill(~keep, float("-inf"))  # a float mask: added to the scores
    if not need_weights:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=dropout_p)
        return out, None
    scores = (q @ k.transpose(-2, -1)) / q.size(-1) ** 0.5  # (B, nh, T, S)
    scores = scores + keep if bias is not None else scores.masked_fill(~keep, float("-inf"))
    weights = scores.softmax(dim=-1)
    return F.dropout(weights, dropout_p) @ v, weights


def select_rows(value, index: torch.Tensor):
    """``value`` with its batch rows picked by ``index`` (beam search reorders its beams):
    tensors along dim 0, tuples element-wise, anything else (ints, None) unchanged."""
    if isinstance(value, torch.Tensor):
        return value.index_select(0, index)
    if isinstance(value, tuple):
        return (
            type(value)(*(select_rows(v, index) for v in value))
            if hasattr(value, "_fields")
            else tuple(select_rows(v, index) for v in value)
        )
    return value
