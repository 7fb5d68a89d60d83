"""Compare our ABC reader, repeats expanded, with abc2midi (the reference ABC player).

    .venv/bin/python bench/abc2midi_oracle.py            # every shared ABC tune
    .venv/bin/python bench/abc2midi_oracle.py --every 7  # every 7th tune
    .venv/bin/python bench/abc2midi_oracle.py --written  # written order (repeat signs
                                                         # removed on abc2midi's side)

abc2midi (Debian package ``abcmidi``, 4.84) plays each book in one process, with its
performance effects off: ``-NGUI`` (no chord accompaniment), ``-NGRA`` (no grace notes),
``-NFER`` (fermatas keep their length), ``%%MIDI chordattack 0`` in each tune header, no
``R:`` lines (a rhythm name selects a beat pattern), and no decorations it plays as extra
or shorter notes (trills, rolls, mordents, turns, staccato dots). It delays every note-on
by one MIDI tick; onsets are moved back by it. Notes are compared as sorted
``(pitch, onset, duration)`` in ticks of 1/480 quarter note. Differences where abc2midi
departs from ABC 2.1 are sorted into named kinds (``docs/abc_oracle.md``); each kind is an
edit of the input to one side that makes the two agree, and it counts only then.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import mido

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.abc2midi_kinds import (  # noqa: E402
    FIELD,
    OUR_EDITS,
    PREVIOUS_KIND,
    THEIR_EDITS,
    WRITTEN_KINDS,
    fermata_before_invisible_bar,
)
from musicgen.music import read_abc  # noqa: E402
from musicgen.music.abc.reader import iter_abc_tunes  # noqa: E402
from musicgen.music.abc.source import file_header, load_abc_source  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
TPQ = 480  # abc2midi's ticks per quarter note
FLAGS = ["-NGUI", "-NGRA", "-NFER", "-quiet", "-silent"]
Ticks = tuple[int, int, int]

# decorations abc2midi plays as extra notes or shortens (ABC 2.1 §4.14): ~ T M P . and
# their long forms
_ORNAMENT = re.compile(
    r"!(?:trill|roll|turn|turnx|invertedturn|invertedturnx|mordent|lowermordent|"
    r"uppermordent|pralltriller|staccato|trill\(|trill\))!|\+(?:trill|roll|mordent)\+"
    r"|[~TMP.](?=[~TMP.HJLRSOuvk]*[\^_=]*[A-Ga-g\[(!])"
)


def abc2midi() -> str | None:
    """The abc2midi executable, or None where it is not installed."""
    return shutil.which("abc2midi")


def corpus_files(shared_data: Path = SHARED_DATA) -> list[Path]:
    abc = shared_data / "abc"
    return [abc / "irish.abc", *sorted((abc / "nottingham").glob("*.abc")),
            *sorted((abc / "scale").glob("*.abc.gz"))]  # fmt: skip


def for_abc2midi(text: str) -> str:
    """A tune's text as abc2midi should play it here: performance effects removed."""
    out = []
    for line in text.split("\n"):
        if line.startswith("R:"):
            continue
        if line.startswith("X:"):
            out += [line, "%%MIDI chordattack 0"]
            continue
        out.append(line if FIELD.match(line) else _ORNAMENT.sub("", line))
    return "\n".join(out)


def _midi_ticks(path: Path) -> list[Ticks] | None:
    """abc2midi's notes as ticks. Read with mido, not ``read_midi``: abc2midi writes an
    empty track chunk for some tunes, which ``read_midi`` rightly refuses as a file."""
    if not path.is_file():
        return None
    notes, sounding = [], {}
    midi = mido.MidiFile(path)
    if midi.ticks_per_beat != TPQ:
        raise ValueError(f"{path}: {midi.ticks_per_beat} ticks per quarter, not {TPQ}")
    for track in midi.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault(key, []).append(now)
            elif sounding.get(key):
                start = sounding[key].pop(0)
                # abc2midi's note-on comes one tick late, its note-off on time
                notes.append((msg.note, start - 1, now - start + 1))
    return sorted(notes)


def play_book(header: str, texts: list[str], workdir: Path) -> list[list[Ticks] | None]:
    """abc2midi's notes for each tune text, all in one book and one process; where it
    stops part-way (it crashes on some tunes), the tunes after the crash are played again
    in a second process, and the one it stopped at alone."""
    out = _play_once(header, texts, workdir)
    missing = [i for i, notes in enumerate(out) if notes is None]
    if missing and len(missing) < len(texts):
        out[missing[0]] = _play_once(header, [texts[missing[0]]], workdir)[0]
        rest = missing[1:]
        again = play_book(header, [texts[i] for i in rest], workdir)
        for i, notes in zip(rest, again, strict=True):
            out[i] = notes
    return out


def _play_once(header: str, texts: list[str], workdir: Path) -> list[list[Ticks] | None]:
    numbered = [re.sub(r"^X:.*$", f"X:{i}", t, count=1, flags=re.M) for i, t in
                enumerate(texts, 1)]  # fmt: skip
    book = workdir / "book.abc"
    book.write_text(header + "\n" + "\n\n".join(for_abc2midi(t) for t in numbered) + "\n")
    subprocess.run([abc2midi(), str(book), *FLAGS], cwd=workdir, capture_output=True)
    out = [_midi_ticks(workdir / f"book{i}.mid") for i in range(1, len(texts) + 1)]
    for mid in workdir.glob("book*.mid"):
        mid.unlink()
    return out


def our_ticks(text: str, expand: bool = True) -> list[Ticks] | None:
    scores = read_abc(text, expand_repeats=expand)
    if not scores:
        return None
    return sorted((n.pitch, round(n.start * TPQ), round(n.duration * TPQ))
                  for n in scores[0].notes)  # fmt: skip


def written_order(text: str) -> str:
    """abc2midi's input for the written order: repeat signs, endings and parts removed."""
    out = []
    for line in text.split("\n"):
        if line.startswith("P:"):
            continue
        if not FIELD.match(line):
            line = re.sub(r":*(\[?\|\]?)(?:\s*\[?\d+(?:[,-]\d+)*)?:*|::+|\[\d+(?:[,-]\d+)*",
                          lambda m: m.group(1) or "|", line)  # fmt: skip
        out.append(line)
    return "\n".join(out)


@dataclass
class Result:
    path: Path
    number: str
    title: str
    status: str  # agree | disagree | excluded:<kind> | a2m_failed | ours_failed
    detail: str = ""


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(r.status for r in self.results)

    def agreement(self) -> float:
        """Identical notes, of the tunes both read (judged abc2midi errors aside)."""
        c = self.counts()
        judged = sum(v for k, v in c.items() if k.startswith("excluded:"))
        compared = sum(c.values()) - c["a2m_failed"] - judged
        return c["agree"] / compared if compared else 1.0


def classify(
    header: str, text: str, theirs: list[Ticks], expand: bool, work: Path, before: str = ""
) -> str | None:
    """The kinds (one to three, ``+``-joined) that explain the difference, else None.

    ``before`` is the tune played just before this one in the same abc2midi process: a
    chord that abc2midi leaves open there (``H[|]``) takes this tune with it.
    """
    if left_open_before(header, text, expand, work, before):
        return PREVIOUS_KIND
    kinds = [k for k in (*OUR_EDITS, *THEIR_EDITS) if expand or k in WRITTEN_KINDS]
    start = (header + text, text)
    useful = [k for k in kinds if _apply(k, start) != start]
    mine_of: dict[str, list[Ticks] | None] = {}
    theirs_of: dict[str, list[Ticks] | None] = {text: theirs}
    for size in (1, 2, 3):
        for names in itertools.combinations(useful, size):
            ours, a2m = start
            for name in names:
                ours, a2m = _apply(name, (ours, a2m))
            if ours not in mine_of:
                mine_of[ours] = our_ticks(ours, expand)
            if a2m not in theirs_of:
                theirs_of[a2m] = play_book(header, [a2m], work)[0]
            if mine_of[ours] == theirs_of[a2m]:
                return "+".join(names)
    return None


def left_open_before(header: str, text: str, expand: bool, work: Path, before: str) -> bool:
    """Whether the chord that abc2midi leaves open at ``H[|]`` in the tune before is the
    whole difference: abc2midi plays this very text as we do, both alone and after that
    tune with ``H[|]`` edited away (not with any edit of this tune)."""
    fixed = fermata_before_invisible_bar(before)
    if fixed == before:
        return False
    mine = our_ticks(header + text, expand)
    return mine == play_book(header, [text], work)[0] == play_book(header, [fixed, text], work)[1]


def _apply(name: str, sides: tuple[str, str]) -> tuple[str, str]:
    """One kind's edit of (our text, abc2midi's text)."""
    ours, a2m = sides
    if name in OUR_EDITS:
        return OUR_EDITS[name](ours), a2m
    return ours, THEIR_EDITS[name](a2m)


def compare_file(path: Path, expand: bool, every: int = 1) -> list[Result]:
    text, _ = load_abc_source(path)
    header = file_header(text)
    pairs = [p for i, p in enumerate(iter_abc_tunes(path, expand, warnings=[])) if i % every == 0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts = [t.text if expand else written_order(t.text) for t, _ in pairs]
        played = play_book(header, texts, work)
        results = []
        for k, ((tune, score), theirs) in enumerate(zip(pairs, played, strict=True)):
            sent = (texts[k - 1] if k else "", texts[k])
            results.append(_compare(path, header, tune, score, theirs, sent, expand, work))
    return results


def _compare(path, header, tune, score, theirs, sent, expand, work) -> Result:
    r = Result(path, tune.number, tune.title, "agree")
    if theirs is None:
        r.status = "a2m_failed"
    elif isinstance(score, Exception):
        r.status, r.detail = "ours_failed", str(score)
    else:
        mine = sorted((n.pitch, round(n.start * TPQ), round(n.duration * TPQ))
                      for n in score.notes)  # fmt: skip
        if mine != theirs and within_rounding(mine, theirs):
            r.status = f"excluded:{ROUNDING_KIND}"
        elif mine != theirs:
            kind = classify(header, sent[1], theirs, expand, work, before=sent[0])
            r.status = f"excluded:{kind}" if kind else "disagree"
            r.detail = _first_difference(mine, theirs)
    return r


ROUNDING_KIND = "tick_rounding"
_ROUNDING_TICKS = 2


def within_rounding(ours: list[Ticks], theirs: list[Ticks]) -> bool:
    """The same notes but for the rounding to 1/480 quarter: a tuplet of 5 or 7 is not
    on that grid; abc2midi adds its notes' lengths rounded to ticks, we round each exact
    onset, so the two drift apart by a tick or two inside the tuplet."""
    if len(ours) != len(theirs):
        return False
    return all(
        a[0] == b[0] and abs(a[1] - b[1]) <= _ROUNDING_TICKS and abs(a[2] - b[2]) <= _ROUNDING_TICKS
        for a, b in zip(ours, theirs, strict=True)
    )


def _first_difference(ours: list[Ticks], theirs: list[Ticks]) -> str:
    a, b = Counter(ours), Counter(theirs)
    only_ours, only_theirs = sorted((a - b).elements()), sorted((b - a).elements())
    fmt = lambda ns: ", ".join(f"{p}@{s / TPQ:g}+{d / TPQ:g}" for p, s, d in ns[:3])  # noqa: E731
    counts = f"{len(ours)} vs {len(theirs)} notes"
    return f"{counts}; ours only [{fmt(only_ours)}] abc2midi only [{fmt(only_theirs)}]"


def run(expand: bool = True, every: int = 1, shared_data: Path = SHARED_DATA) -> Summary:
    summary = Summary()
    for path in corpus_files(shared_data):
        summary.results += compare_file(path, expand, every)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=1, help="every n-th tune of each book")
    ap.add_argument("--written", action="store_true", help="written order, not played")
    ap.add_argument("--show", type=int, default=30)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if abc2midi() is None:
        sys.exit("abc2midi is not installed (apt-get install abcmidi)")
    s = run(not args.written, args.every)
    for r in [r for r in s.results if r.status in ("disagree", "ours_failed")][: args.show]:
        print(f"{r.status}: {r.path.name} X:{r.number} {r.title}: {r.detail}")
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(s.counts().items()))
    print(f"tunes: {len(s.results)}; {counts}")
    order = "written order" if args.written else "repeats expanded"
    print(f"agreement: {s.agreement():.2%} ({order})")


if __name__ == "__main__":
    main()
