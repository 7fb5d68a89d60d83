"""Self-attention pictures of a decoder-only Transformer: one image per layer, a panel per head.

``musicgen-sample … attention=true`` draws them for each sample (the sample's tokens run
through the model once, asking for the weights), and the training callback
``AttentionMapLogger`` draws one per validation for W&B.
"""

from __future__ import annotations

from pathlib import Path

import torch

from musicgen.models.transformer import TransformerLM


class NoAttentionError(ValueError):
    """A model that cannot show its self-attention (not a decoder-only Transformer)."""


def require_self_attention(model, where: str = "the model") -> None:
    """Raises NoAttentionError unless ``model`` is a decoder-only ``TransformerLM``."""
    if not isinstance(model, TransformerLM):
        raise NoAttentionError(
            f"{where}: attention=true draws a Transformer's self-attention; this model is a"
            f" {type(model).__name__}"
        )


@torch.no_grad()
def self_attention(model, ids: list[int], where: str = "the model") -> list[torch.Tensor]:
    """Each layer's self-attention weights (nh, T, T) over ``ids`` (its last ``max_len``).

    Raises:
        NoAttentionError: ``model`` is not a ``TransformerLM``.
    """
    require_self_attention(model, where)
    ids = list(ids)[-model.max_len :]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    _, state = model(torch.tensor([ids], device=device), need_weights=True)
    model.train(was_training)
    return [w[0].float().cpu() for w in state.attention]  # per layer (nh, T, T)


def plot_self_attention(weights: torch.Tensor, path: Path, title: str = "") -> Path:
    """One layer's weights (nh, T, T) as a row of heatmaps, one per head: queries down
    (the token being predicted from), keys across (the tokens it reads)."""
    from matplotlib.figure import Figure  # imported here: matplotlib is slow to load

    n_heads = weights.size(0)
    fig = Figure(figsize=(3.2 * n_heads + 0.8, 3.4))
    axes = fig.subplots(1, n_heads, squeeze=False)[0]
    for h, ax in enumerate(axes):
        image = ax.imshow(weights[h].numpy(), cmap="viridis", vmin=0.0, interpolation="nearest")
        ax.set_title(f"head {h}", fontsize=8)
        ax.set_xlabel("key token (attended to)", fontsize=7)
        if h == 0:
            ax.set_ylabel("query token", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.colorbar(image, ax=list(axes), label="attention weight", shrink=0.8)
    fig.suptitle(title or "self-attention", fontsize=9)
    fig.savefig(path, dpi=100)
    return path


def attention_pictures(model, ids: list[int], stem: Path, where: str = "the model") -> list[Path]:
    """``<stem>_attention_layerL.png`` for every layer of ``model`` over ``ids``.

    Raises:
        NoAttentionError: ``model`` is not a ``TransformerLM``.
    """
    layers = self_attention(model, ids, where)
    return [
        plot_self_attention(
            w,
            stem.parent / f"{stem.name}_attention_layer{i}.png",
            f"{stem.name}: layer {i}, {w.size(-1)} tokens",
        )  # fmt: skip
        for i, w in enumerate(layers)
    ]
