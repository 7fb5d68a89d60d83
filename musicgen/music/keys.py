"""Key finding: the Krumhansl-Schmuckler estimate of a score's key. Never imports torch.

Here, below the tokenizers, because the harmony tokenizer moves a melody without a key
signature to its estimated tonic; ``musicgen.metrics`` re-exports it.
"""

from __future__ import annotations

import numpy as np

from musicgen.music.score import Score

# Krumhansl & Kessler (1982) key profiles, tonic first; used by Krumhansl-Schmuckler
# key finding (Krumhansl 1990, "Cognitive Foundations of Musical Pitch", ch. 4).
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


class NoPitchedNotesError(ValueError):
    """A metric that needs pitched (non-drum) notes got a score without any."""


def estimate_key(score: Score) -> tuple[int, str]:
    """The Krumhansl-Schmuckler key estimate: ``(tonic pitch class, "major" | "minor")``.

    Definition: the score's duration-weighted pitch-class distribution (drums left out)
    is correlated (Pearson) with the Krumhansl-Kessler major and minor profiles rotated to
    each of the 12 tonics; the best of the 24 keys wins (ties: the lower tonic, major
    before minor).

    Raises:
        NoPitchedNotesError: for a score without pitched notes.
    """
    notes = [n for n in score.notes if not n.is_drum]
    if not notes:
        raise NoPitchedNotesError(f"estimate_key: score {score.title!r} has no pitched notes")
    weights = np.zeros(12)
    for n in notes:
        weights[n.pitch % 12] += float(n.duration) or 1e-3  # a 0-length MIDI note still votes
    best, best_r = (0, "major"), -np.inf
    for tonic in range(12):
        for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            rotated = np.roll(profile, tonic)  # rotated[tonic] is the profile's tonic weight
            r = np.corrcoef(weights, rotated)[0, 1] if weights.std() > 0 else 0.0
            if r > best_r + 1e-12:
                best, best_r = (tonic, mode), r
    return best
