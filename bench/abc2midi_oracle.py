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

from musicgen.music import read_abc  # noqa: E402
from musicgen.music.abc.reader import iter_abc_tunes  # noqa: E402
from musicgen.music.abc.source import file_header, load_abc_source  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
TPQ = 480  # abc2midi's ticks per quarter note
FLAGS = ["-NGUI", "-NGRA", "-NFER", "-quiet", "-silent"]
Ticks = tuple[int, int, int]

_FIELD = re.compile(r"[A-Za-z+]:|%")
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
        out.append(line if _FIELD.match(line) else _ORNAMENT.sub("", line))
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
        if not _FIELD.match(line):
            line = re.sub(r":*(\[?\|\]?)(?:\s*\[?\d+(?:[,-]\d+)*)?:*|::+|\[\d+(?:[,-]\d+)*",
                          lambda m: m.group(1) or "|", line)  # fmt: skip
        out.append(line)
    return "\n".join(out)


# --- kinds of difference where abc2midi departs from ABC 2.1 -----------------------------
_CLOSED_ENDING = re.compile(r"(?:\[|\|\s*|:\|\s*)2[^|\[]*?(?:\|[^|\]\[]*?)*?(\|\||\|\])")


def restart_after_second_ending(text: str) -> str:
    """abc2midi edit. After an ending ``[2 …`` closed by ``||`` or ``|]``, a ``:|`` sends
    abc2midi back to the section before the endings (which it then skips); ABC 2.1 §4.8
    repeats from that double bar. Edit: write ``|:`` after each such double bar."""
    return _edit_music(text, r"((?:\[|\|)2[^\n]*?)(\|\||\|\])(?!:)", r"\1\2 |:")


def restart_at_first_double_bar(text: str) -> str:
    """abc2midi edit. Before any repeat has been played, abc2midi takes a ``:|`` back to
    the start of the tune past a ``||`` (§4.8: "from the latest double bar line").
    Edit: write ``|:`` after each ``||``/``|]`` that no ``:`` touches."""
    return _edit_music(text, r"(?<!:)(\|\||\|\])(?![:\d])(?! *\|:)", r"\1 |:")


_PLAIN_REPEAT = re.compile(r"(:\|\|?)(?![\]:])(?![\s!]*(?:\[?\d|\|?:|\[\|))")


def restart_after_repeat(text: str) -> str:
    """abc2midi edit. Once a block of endings has been played, a later section that
    follows a plain ``:|`` and has endings of its own is not repeated (its first ending
    is skipped); ABC 2.1 §4.8 repeats from the "end of repeated section".
    Edit: write ``|:`` after each ``:|`` that no ``|:`` or ending follows."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _PLAIN_REPEAT.sub(r"\1 |:", music)


_LAST_ENDING_REPEATED = re.compile(
    r"((?:\[|\|)\s*2(?![\d,-])(?:(?!\[\d|\|\d|\|:|\|\]|\|\||::|:\|).)*?):\|(?![\d:])(?![\s!]*\[\d)",
    re.S,
)


def last_ending_repeated(text: str) -> str:
    """abc2midi edit. A second ending that itself ends in ``:|`` (``[2 cAA A2:|``, a
    slip for ``|]``): abc2midi goes back once more; ABC 2.1 §4.9 plays each ending on its
    own pass, and no pass is left for the section after the last ending (ambiguous text,
    we play on). Edit: that ``:|`` becomes ``|]``."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    return head + sep + key_line + nl + _LAST_ENDING_REPEATED.sub(r"\1|]", music)


def quintuplet_in_three_four(text: str) -> str:
    """Our edit. abc2midi reads ``(5`` in 3/4 as a compound meter's (five in the time
    of three); ABC 2.1 §4.13 makes only 6/8, 9/8, 12/8 compound (five in two).
    Edit: ``(5`` → ``(5:3`` in tunes in M:3/4."""
    if not re.search(r"^M:\s*3/4", text, re.M):
        return text
    return _edit_music(text, r"\(5(?![:\d])", "(5:3")


def _edit_music(text: str, pattern: str, repl) -> str:
    """Apply a substitution to the music lines (not fields or comments) after ``K:``."""
    head, sep, body = text.partition("\nK:")
    key_line, nl, music = body.partition("\n")
    lines = [ln if _FIELD.match(ln) else re.sub(pattern, repl, ln) for ln in music.split("\n")]
    return head + sep + key_line + nl + "\n".join(lines)


def blank_line_before_music(text: str) -> str:
    """abc2midi edit. A blank line between ``K:`` and the first music line ends the tune
    for abc2midi (ABC 2.1 §2.2: a blank line ends a tune); we read on, since the music
    after it is plainly this tune's. Edit: drop the blank lines right after ``K:``."""
    return re.sub(r"^(K:[^\n]*\n)(?:[ \t]*\n)+(?=[^\n]*\S)", r"\1", text, count=1, flags=re.M)


THEIR_EDITS = {
    "abc2midi_restart_after_second_ending": restart_after_second_ending,
    "abc2midi_restart_at_first_double_bar": restart_at_first_double_bar,
    "abc2midi_blank_line_before_music": blank_line_before_music,
    "abc2midi_restart_after_repeat": restart_after_repeat,
    "abc2midi_last_ending_repeated": last_ending_repeated,
}
# the kinds that can explain a difference in the written order (no repeats played)
WRITTEN_KINDS = ("abc2midi_blank_line_before_music", "abc2midi_quintuplet_in_three_four")
OUR_EDITS = {"abc2midi_quintuplet_in_three_four": quintuplet_in_three_four}


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


def classify(header: str, text: str, theirs: list[Ticks], expand: bool, work: Path) -> str | None:
    """The kind of known abc2midi departure that explains the difference, else None."""
    for name, edit in OUR_EDITS.items():
        if not expand and name not in WRITTEN_KINDS:
            continue
        edited = edit(header + text)
        if edited != header + text and our_ticks(edited, expand) == theirs:
            return name
    mine = our_ticks(header + text, expand)
    for size in (1, 2, 3):
        kinds = [k for k in THEIR_EDITS if expand or k in WRITTEN_KINDS]
        for names in itertools.combinations(kinds, size):
            edited = text
            for name in names:
                edited = THEIR_EDITS[name](edited)
            if edited != text and play_book(header, [edited], work)[0] == mine:
                return "+".join(names)
    return None


def compare_file(path: Path, expand: bool, every: int = 1) -> list[Result]:
    text, _ = load_abc_source(path)
    header = file_header(text)
    pairs = [p for i, p in enumerate(iter_abc_tunes(path, expand, warnings=[])) if i % every == 0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts = [t.text if expand else written_order(t.text) for t, _ in pairs]
        played = play_book(header, texts, work)
        results = []
        for (tune, score), theirs, sent in zip(pairs, played, texts, strict=True):
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
        if mine != theirs:
            kind = classify(header, sent, theirs, expand, work)
            r.status = f"excluded:{kind}" if kind else "disagree"
            r.detail = _first_difference(mine, theirs)
    return r


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
