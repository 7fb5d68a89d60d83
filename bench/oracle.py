"""Compare our ABC reader with music21's (the oracle) on the folk corpora.

Run the whole comparison (about 15 minutes: music21 reads ~15 tunes/s):

    .venv/bin/python bench/oracle.py            # every tune
    .venv/bin/python bench/oracle.py --sample   # the test's sample (every 10th of the rest)

Notes are compared as a sorted multiset of ``(pitch, onset, duration)`` per tune, in the
written order (no repeat expansion on either side): music21's ties are merged with
``stripTies``, its grace notes and chord symbols dropped, its chords expanded into notes.
Disagreements where we judge music21 wrong are sorted into named kinds (see
``docs/abc_oracle.md``); every other disagreement counts against us.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicgen.music.abc.reader import iter_abc_tunes, read_abc  # noqa: E402
from musicgen.music.abc.source import file_header, load_abc_source  # noqa: E402
from musicgen.music.score import Score  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
NoteKey = tuple[int, Fraction, Fraction]


def corpus_files(shared_data: Path = SHARED_DATA) -> dict[str, list[Path]]:
    """The ABC files of each collection: ours in shared/data, and music21's folk corpus."""
    import music21

    m21 = Path(music21.__file__).parent / "corpus"
    return {
        "irish": [shared_data / "abc" / "irish.abc"],
        "nottingham": sorted((shared_data / "abc" / "nottingham").glob("*.abc")),
        "essen": sorted((m21 / "essenFolksong").glob("*.abc")),
        "oneills": sorted((m21 / "oneills1850").glob("*.abc")),
        "ryans": sorted((m21 / "ryansMammoth").glob("*.abc")),
    }


def _exact(value) -> Fraction:
    return Fraction(value).limit_denominator(1 << 16)


def m21_notes(score) -> list[NoteKey]:
    """Sorted (pitch, onset, duration) of a music21 score, ties merged, no grace notes."""
    from music21 import harmony

    score = score.stripTies()
    out = []
    for n in score.recurse().notes:
        if isinstance(n, harmony.Harmony) or n.duration.isGrace:
            continue
        onset, dur = _exact(n.getOffsetInHierarchy(score)), _exact(n.duration.quarterLength)
        out.extend((p.midi, onset, dur) for p in n.pitches)
    return sorted(out)


def our_notes(score) -> list[NoteKey]:
    return sorted((n.pitch, n.start, n.duration) for n in score.notes)


def _m21_parse(text: str):
    import music21

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return music21.converter.parse(text, format="abc", forceSource=True)


def m21_read(text: str):
    """music21's score for one tune's text, or None where music21 cannot read it."""
    try:
        return _m21_parse(text)
    except Exception:  # noqa: BLE001 - music21 raises many kinds of errors
        return None


def m21_notes_same_pitch_ties(score) -> list[NoteKey]:
    """Like :func:`m21_notes`, but a tie joins two notes only when they have the same
    pitch and the second starts where the first ends (stripTies joins any tied pair)."""
    from music21 import harmony

    out = []
    for part in score.parts if score.parts else [score]:
        pending: dict[int, list] = {}
        for n in part.recurse().notes:
            if isinstance(n, harmony.Harmony) or n.duration.isGrace:
                continue
            onset, dur = _exact(n.getOffsetInHierarchy(score)), _exact(n.duration.quarterLength)
            for sub in getattr(n, "notes", None) or [n]:
                tie = (sub.tie or n.tie).type if (sub.tie or n.tie) else None
                prev = pending.pop(sub.pitch.midi, None)
                if prev and prev[1] + prev[2] == onset and tie in ("stop", "continue"):
                    prev[2] += dur
                    note = prev
                else:
                    note = [sub.pitch.midi, onset, dur]
                    out.append(note)
                if tie in ("start", "continue"):
                    pending[sub.pitch.midi] = note
    return sorted(tuple(n) for n in out)


def _reread(text: str) -> list[NoteKey] | None:
    """Our notes for an edited copy of a tune's text (None if it does not read)."""
    scores = read_abc(text)
    return our_notes(scores[0]) if scores else None


def _edit_music(text: str, pattern: str, repl="") -> str:
    """Apply a regex substitution to the music lines (not the fields) of a tune."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    lines = [
        ln if re.match(r"[A-Za-z+]:|%", ln) else re.sub(pattern, repl, ln)
        for ln in music.split("\n")
    ]
    return head + sep + key_line + nl + "\n".join(lines)


_NOTE = r"(?:\^\^|\^|__|_|=)?[A-Ga-g][,']*[\d/]*"


def no_bar_accidentals(text: str) -> str:
    """music21 reads ABC without a ``%abc-2`` version line as ABC 1.x, where an accidental
    applies to its own note only; ABC 2.1 (4.2) carries it to the end of the bar.
    Edit: ``%%propagate-accidentals not`` (ABC 2.2) makes us read it music21's way."""
    head, _, rest = text.partition("\n")
    return f"{head}\n%%propagate-accidentals not\n{rest}"


def broken_rhythm_ignored(text: str) -> str:
    """music21 ignores a broken rhythm written next to a slur mark (``(eg)>e``,
    ``(GA>)F``, ``D>(G``), after a quoted text (``c"0"<A``) or before a decoration or
    tie (``A>.B``, ``c<uA``, ``A>-G``).
    Edit: delete those ``>``/``<``."""
    return _edit_music(text, r"(?<=[)\"])[<>]+|[<>]+(?=[()\-.~uvTHLMOPS])")


def note_before_double_colon_lost(text: str) -> str:
    """music21 loses the note written right before ``::`` (``G2B::``) in some bars.
    Edit: delete that note."""
    return _edit_music(text, _NOTE + r"(?=::)")


def fermata_note_lost(text: str) -> str:
    """music21 drops a note decorated with ``H`` (fermata), and the note after a ``">"``
    annotation, time and all. Edit: delete those notes."""
    return _edit_music(text, r'(?:H|">"\s*)' + _NOTE)


def chord_ties_not_joined(text: str) -> str:
    """music21 does not join ties into, out of or within chords (``[E3c3]-[E3c3]``,
    ``A2-[A2c2]``). Edit: delete those ties."""
    return _edit_music(text, r"(?<=\])-|-(?=\[)|-(?=[^\[\]\n]*\])")


def invisible_rest_no_time(text: str) -> str:
    """music21 drops ``x`` (invisible rests) without their time; ABC 2.1 (4.5) says an
    invisible rest is a rest. Edit: delete them."""
    return _edit_music(text, r"x[\d/]*")


def grace_note_counted_in_tuplet(text: str) -> str:
    """music21 counts grace notes written first in a tuplet as tuplet notes:
    ``(3{B,}A,G,A,`` puts only A, and G, in the triplet. Edit: ``{B,}(3::2A,G,A,``."""
    return _edit_music(text, r"\((\d)\s*(\{[^}]*\})", lambda m: f"{m[2]}({m[1]}::{int(m[1]) - 1}")


def strip_ties_joins_other_pitches(score) -> list[NoteKey]:
    """music21's ``stripTies`` joins a tied note to the next note even when its pitch
    differs (``G3-A``: a slur written as a tie), and does not join ties into chords.
    music21's side: its own ties joined by pitch (:func:`m21_notes_same_pitch_ties`)."""
    return m21_notes_same_pitch_ties(score)


# Each kind of music21 error is one narrow predicate: either an edit of the tune text
# that makes us read it music21's (wrong) way, or another reading of music21's own
# score. A tune is excluded when one kind, or up to three together, explain it all.
EDITS = {
    "no_bar_accidentals": no_bar_accidentals,
    "broken_rhythm_ignored": broken_rhythm_ignored,
    "note_before_double_colon_lost": note_before_double_colon_lost,
    "fermata_note_lost": fermata_note_lost,
    "chord_ties_not_joined": chord_ties_not_joined,
    "invisible_rest_no_time": invisible_rest_no_time,
    "grace_note_counted_in_tuplet": grace_note_counted_in_tuplet,
}
M21_SIDE = {"strip_ties_joins_other_pitches": strip_ties_joins_other_pitches}
KINDS = [*EDITS, *M21_SIDE]


def classify(text: str, ours: list[NoteKey], theirs: list[NoteKey], score) -> str | None:
    """The kind(s) of known music21 error that explain the difference, e.g.
    ``"no_bar_accidentals"`` or ``"no_bar_accidentals+fermata_note_lost"``; else None."""
    alternatives = {name: fn(score) for name, fn in M21_SIDE.items()}
    for size in (1, 2, 3):
        for names in itertools.combinations(KINDS, size):
            edited = text
            for name in names:
                edited = EDITS[name](edited) if name in EDITS else edited
            target = theirs
            for name in names:
                target = alternatives.get(name, target)
            if (_reread(edited) if edited != text else ours) == target:
                return "+".join(names)
    return None


@dataclass
class Result:
    """Comparison of one tune."""

    collection: str
    path: Path
    number: str
    title: str
    status: str  # agree | disagree | excluded:<kind> | m21_failed | ours_failed
    detail: str = ""


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)
    our_seconds: float = 0.0
    m21_seconds: float = 0.0

    def counts(self) -> Counter:
        return Counter(r.status for r in self.results)

    def agreement(self) -> float:
        """Share of the tunes music21 reads (minus judged music21 errors) where we agree."""
        c = self.counts()
        judged = sum(v for k, v in c.items() if k.startswith("excluded:"))
        compared = sum(c.values()) - c["m21_failed"] - judged
        return c["agree"] / compared if compared else 1.0


def _first_difference(ours: list[NoteKey], theirs: list[NoteKey]) -> str:
    a, b = Counter(ours), Counter(theirs)
    only_ours, only_theirs = sorted((a - b).elements()), sorted((b - a).elements())
    fmt = lambda ns: ", ".join(f"{p}@{float(s):g}+{float(d):g}" for p, s, d in ns[:4])  # noqa: E731
    return f"ours only [{fmt(only_ours)}] music21 only [{fmt(only_theirs)}]"


def compare_file(
    collection: str, path: Path, every: int = 1, offset: int = 0
) -> tuple[list[Result], int, float, float]:
    """Compare the tunes of one file whose index in the collection (``offset`` + index in
    the file) is a multiple of ``every``.

    Returns:
        The results, the file's tune count, and both readers' seconds for those tunes.
        music21 reads each tune on its own (with the file header): reading a whole book,
        it carries a tune's ``L:`` over into the next tune that has none.
    """
    text, _ = load_abc_source(path)
    header = file_header(text)
    t0 = time.perf_counter()
    ours = list(iter_abc_tunes(path))
    ours_s = time.perf_counter() - t0
    picked = [pair for i, pair in enumerate(ours) if (offset + i) % every == 0]
    results, m21_s = [], 0.0
    for tune, score in picked:
        t0 = time.perf_counter()
        their_score = m21_read(header + tune.text)
        their = m21_notes(their_score) if their_score is not None else None
        m21_s += time.perf_counter() - t0
        results.append(_compare(collection, path, header, tune, score, their, their_score))
    return results, len(ours), ours_s * len(picked) / max(len(ours), 1), m21_s


def _compare(collection, path, header, tune, score, their, their_score) -> Result:
    r = Result(collection, path, tune.number, tune.title, "agree")
    if their is None:
        r.status = "m21_failed"
    elif not isinstance(score, Score):
        r.status, r.detail = "ours_failed", str(score)
    else:
        mine = our_notes(score)
        if mine != their:
            kind = classify(header + tune.text, mine, their, their_score)
            r.status = f"excluded:{kind}" if kind else "disagree"
            r.detail = _first_difference(mine, their)
    return r


def run(every_other: int = 1, shared_data: Path = SHARED_DATA) -> Summary:
    """The comparison: every irish and Nottingham tune, every ``every_other``-th tune of
    the other collections (counted across each collection's files)."""
    summary = Summary()
    for collection, paths in corpus_files(shared_data).items():
        every = 1 if collection in ("irish", "nottingham") else every_other
        offset = 0
        for path in paths:
            results, count, ours_s, m21_s = compare_file(collection, path, every, offset)
            offset += count
            summary.results += results
            summary.our_seconds += ours_s
            summary.m21_seconds += m21_s
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", action="store_true", help="every 10th tune of the rest")
    parser.add_argument("--show", type=int, default=20, help="disagreements to list")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    summary = run(10 if args.sample else 1)
    counts = summary.counts()
    n = len(summary.results)
    for r in [r for r in summary.results if r.status in ("disagree", "ours_failed")][: args.show]:
        print(f"{r.status}: {r.path.name} X:{r.number} {r.title}: {r.detail}")
    print(f"tunes: {n}; " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"agreement: {summary.agreement():.2%} of the tunes music21 reads")
    print(
        f"ours: {n / summary.our_seconds:.0f} tunes/s; "
        f"music21: {n / summary.m21_seconds:.1f} tunes/s"
    )


if __name__ == "__main__":
    main()
