"""A chord vocabulary for harmonisation: root × quality, plus no-chord. Never imports torch.

Every chord symbol is folded onto 12 roots (enharmonics folded: ``Db`` is ``C#``) times
eight qualities, plus ``N`` (no chord), so a vocabulary has 97 chord tokens,
``Chord_<root>_<quality>`` and ``Chord_N``.

How the Nottingham ABC symbols map (the whole corpus uses 88 spellings; each is read as
root, then suffix, then an optional ``/bass`` that is dropped):

==========================  =========  ==================================================
suffix                      quality    seen in Nottingham as
==========================  =========  ==================================================
(none), ``6``               maj        ``G``, ``D``, ``Bb``, ``G6``
``m``, ``m6``               min        ``Am``, ``F#m``, ``Dm6``
``7``, ``9``, ``7b9``       7          ``D7``, ``A7``, ``E7b9``, ``D7b9``
``m7``, ``m9``              m7         ``Bm7``, ``Am7``, ``Em7/d``
``maj7``, ``M7``            maj7       (none in Nottingham)
``d``, ``dim``, ``o``,      dim        ``Cd``, ``D#d``, ``Gd`` (Nottingham writes ``d``
``dim7``, ``m7b5``                     for diminished)
``a``, ``aug``, ``+``       aug        ``Ea``, ``Da`` (read as augmented: the corpus's
                                       ``a`` suffix, by analogy with its ``d``)
``sus``, ``sus4``, ``sus2``  sus       (none in Nottingham)
==========================  =========  ==================================================

Parenthesised optional chords (``(E7)``) are read as the chord inside; a lowercase bass
with ``+`` (``D/f+``, Nottingham's spelling of D/F#) is dropped with the rest of the bass.
A symbol that is blank, has no note-name root, or an unknown suffix is *unmapped*:
:func:`parse_chord` returns None and :class:`ChordCounter` records it by spelling.

Sounding notes (a MIDI chord track) map by :func:`chord_of_pitches`: among the vocabulary
chords whose tones all sound, one rooted on the bass first, then the one with most tones
(``D F A B`` over a bass D is ``Dm``, as ``Dm6`` reads; over B it is ``Bdim``, as
``Bm7b5`` reads; ``G B D E`` over G is ``G``, as ``G6`` reads, not ``Em7``). The bass
comes first because the Nottingham MIDI files voice their chords in root position (25,494
of their 25,510 chord onsets are a vocabulary chord over its root); an inversion such as
``C7/E`` is misread (as ``Edim``). At most two sounding tones may lie outside the chord (a
sixth, a ninth); otherwise the notes are unmapped and :func:`pitch_class_spelling` names
them (``{C,D}``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

ROOT_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# intervals above the root, in semitones
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "m7": (0, 3, 7, 10),
    "maj7": (0, 4, 7, 11),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus": (0, 5, 7),
}
SUFFIXES = {
    "": "maj", "6": "maj", "maj": "maj",
    "m": "min", "min": "min", "m6": "min",
    "7": "7", "9": "7", "7b9": "7", "13": "7",
    "m7": "m7", "min7": "m7", "m9": "m7",
    "maj7": "maj7", "M7": "maj7",
    "d": "dim", "dim": "dim", "o": "dim", "dim7": "dim", "d7": "dim", "m7b5": "dim",
    "a": "aug", "aug": "aug", "+": "aug",
    "sus": "sus", "sus4": "sus", "sus2": "sus", "7sus": "sus", "7sus4": "sus",
}  # fmt: skip
NO_CHORD = "N"
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True, slots=True, order=True)
class Chord:
    """A vocabulary chord: root pitch class 0–11 and a quality of :data:`QUALITIES`."""

    root: int
    quality: str

    @property
    def name(self) -> str:
        """``"G"``, ``"Am"``, ``"D7"``: the spelling a lead sheet uses (sharps for black keys)."""
        short = {"maj": "", "min": "m"}.get(self.quality, self.quality)
        return ROOT_NAMES[self.root] + short

    @property
    def token(self) -> str:
        return f"Chord_{ROOT_NAMES[self.root]}_{self.quality}"

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.root + i) % 12 for i in QUALITIES[self.quality])


def parse_chord(text: str) -> Chord | None:
    """The vocabulary chord of a symbol such as ``"D7"``, ``"F#m"``, ``"D/f+"`` or ``"(E7)"``.

    Returns:
        The chord, or None when the symbol cannot be mapped (blank, no root, unknown suffix).
    """
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = text.split("/", 1)[0]  # the bass note is not part of the vocabulary
    if not text or text[0].upper() not in _LETTERS or not text[0].isupper():
        return None
    root, rest = _LETTERS[text[0]], text[1:]
    while rest[:1] in ("#", "b") and not (rest[:1] == "b" and rest[1:2].isdigit()):
        root += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    quality = SUFFIXES.get(rest)
    return None if quality is None else Chord(root % 12, quality)


MAX_EXTRA_TONES = 2  # sounding tones outside the chord: the 9 and b9 of E7b9 = E G# B D F


def chord_of_pitches(pitches: Iterable[int]) -> Chord | None:
    """The vocabulary chord that sounding MIDI pitches spell (see the module docstring).

    Returns:
        The chord, or None when no vocabulary chord fits (fewer than three distinct pitch
        classes, or more than two tones beyond every chord that fits).
    """
    pitches = list(pitches)
    if not pitches:
        return None
    sounding, bass = frozenset(p % 12 for p in pitches), min(pitches) % 12
    fits = [c for c in all_chords() if c.pitch_classes <= sounding]
    if not fits:
        return None
    best = max(fits, key=lambda c: (c.root == bass, len(c.pitch_classes), -c.root))
    return best if len(sounding - best.pitch_classes) <= MAX_EXTRA_TONES else None


def pitch_class_spelling(pitches: Iterable[int]) -> str:
    """``"{C,E}"``: the sounding pitch classes, the record of notes no chord maps."""
    return "{" + ",".join(ROOT_NAMES[pc] for pc in sorted({p % 12 for p in pitches})) + "}"


def all_chords() -> list[Chord]:
    """Every vocabulary chord, by root then quality (the token order after ``Chord_N``)."""
    return [Chord(root, q) for root in range(12) for q in QUALITIES]


class ChordCounter:
    """Tallies symbols read from a corpus: how each maps, and which could not be mapped."""

    def __init__(self) -> None:
        self.mapped: Counter[str] = Counter()
        self.unmapped: Counter[str] = Counter()

    def add(self, texts: Iterable[str]) -> None:
        for text in texts:
            (self.mapped if parse_chord(text) is not None else self.unmapped)[text] += 1

    def mapping(self) -> dict[str, str]:
        """Each mapped spelling and the vocabulary chord it became (``{"D/f+": "D"}``)."""
        return {text: parse_chord(text).name for text in sorted(self.mapped)}

    def summary(self) -> str:
        total = sum(self.mapped.values()) + sum(self.unmapped.values())
        worst = ", ".join(f"{t!r}×{n}" for t, n in self.unmapped.most_common(5))
        return (
            f"{len(self.mapped)} chord spellings mapped ({sum(self.mapped.values())} of {total}"
            f" symbols); unmapped: {len(self.unmapped)} spellings"
            + (f" ({worst})" if worst else "")
        )
