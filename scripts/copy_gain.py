"""Has a note-token model learned to copy? Its loss on repeated bars against new bars.

    python scripts/copy_gain.py ckpt=folk --tunes 300 --split test

Under teacher forcing, each bar of a held-out tune (its first ``max_len`` tokens) is scored
in nats. A bar whose tokens are the same, token for token, as an earlier bar of the same
tune is a *repeated* bar. A model that copies from its context gives repeated bars far
fewer nats per token than new bars. A model that does not copy gives both about the same,
and its samples then hold almost no repeated bars (the ``repeated_bars`` figure of
musicgen-eval), whatever the sampler does.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from musicgen.training.checkpoint import CheckpointError, load_checkpoint
from musicgen.training.corpus import checkpoint_corpus
from musicgen.training.ready import resolve_checkpoint


def bar_losses(model, tokens: np.ndarray, bar_id: int) -> list[tuple[tuple, float, int]]:
    """(bar tokens, summed nats, token count) per bar of one tune, in order.

    A bar is a ``Bar`` token and what follows it up to the next ``Bar``; each of its tokens
    is scored from everything before it."""
    x = torch.as_tensor(tokens, dtype=torch.long)[None]
    with torch.no_grad():
        logits = model(x[:, :-1])[0][0].float()
    nll = -torch.log_softmax(logits, -1).gather(1, x[0, 1:, None])[:, 0].numpy()
    starts = [i for i, t in enumerate(tokens) if t == bar_id] + [len(tokens)]
    out = []
    for a, b in zip(starts[:-1], starts[1:], strict=False):
        # the bar's tokens tokens[a..b-1]: the Bar token itself is predicted at a-1
        if b - a >= 3:  # a bar with at least one note (position, pitch, ...)
            out.append((tuple(tokens[a:b]), float(nll[a - 1 : b - 1].sum()), b - a))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", help="a checkpoint file or a ready model name (ckpt=folk)")
    parser.add_argument("--tunes", type=int, default=300)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    try:
        ck = load_checkpoint(resolve_checkpoint(args.ckpt.removeprefix("ckpt=")))
        dm = checkpoint_corpus(ck)
    except CheckpointError as err:
        raise SystemExit(f"copy_gain.py: error: {err}") from None
    model, bar_id = ck.model.eval(), ck.tokenizer.id_of("Bar")
    max_len = getattr(model, "max_len", None) or 512
    rep, new, copy_p = [[], []], [[], []], []
    for i in dm.splits[args.split][: args.tunes]:
        seen: set[tuple] = set()
        doc = np.asarray(dm.cache.document(int(i)), dtype=np.int64)[: max_len + 1]
        for content, nats, n in bar_losses(model, doc, bar_id):
            into = rep if content in seen else new
            into[0].append(nats)
            into[1].append(n)
            if content in seen:
                copy_p.append(np.exp(-nats))
            seen.add(content)
    bars = len(rep[0]) + len(new[0])
    print(f"{args.ckpt} (step {ck.step}), {args.split} split, first {args.tunes} tunes:")
    print(f"  bars with notes: {bars:,}; token-identical to an earlier bar: {len(rep[0]):,}"
          f" ({len(rep[0]) / max(bars, 1):.1%})")  # fmt: skip
    for name, (nats, n) in (("repeated", rep), ("new", new)):
        if n:
            print(f"  {name:>8} bars: {sum(nats) / sum(n):.3f} nats per token,"
                  f" {np.mean(nats):.2f} nats per bar")  # fmt: skip
    if copy_p:
        print(f"  P(a repeated bar written out exactly | its context): median"
              f" {np.median(copy_p):.4f}, mean {np.mean(copy_p):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
