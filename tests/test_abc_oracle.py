"""Our ABC reader against music21's on the folk corpora (music21 is the oracle).

The comparison itself lives in ``bench/oracle.py`` (run it as a script for every tune).
Here a deterministic sample: every tune of irish.abc and the Nottingham books, every
tenth tune of music21's essenFolksong, oneills1850 and ryansMammoth collections. Takes
about three minutes: music21 reads ~15 tunes/s.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("music21")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import oracle  # noqa: E402

AGREEMENT_GOAL = 0.99


@pytest.fixture(scope="module")
def summary(shared_data):
    return oracle.run(every_other=10, shared_data=shared_data)


@pytest.mark.slow
def test_same_notes_as_music21_on_99_percent_of_the_sample(summary):
    counts = Counter(r.status for r in summary.results)
    bad = [r for r in summary.results if r.status in ("disagree", "ours_failed")]
    report = "\n".join(f"{r.path.name} X:{r.number} {r.title}: {r.status} {r.detail}" for r in bad)
    assert summary.agreement() >= AGREEMENT_GOAL, f"{dict(counts)}\n{report}"
    assert counts["agree"] > 0.8 * len(summary.results)  # exclusions stay the exception


@pytest.mark.slow
def test_irish_and_nottingham_are_all_compared(summary):
    per_collection = Counter(r.collection for r in summary.results)
    assert per_collection["irish"] == 804
    assert per_collection["nottingham"] == 517
    assert {"essen", "oneills", "ryans"} <= set(per_collection)


def test_each_exclusion_kind_is_narrow():
    """Every kind's edit changes only what it names: a tune without it reads the same."""
    plain = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\nABcd efga|[1 b2 a2 :|[2 g2 f2||\n"
    for name, edit in oracle.EDITS.items():
        if name != "no_bar_accidentals":
            assert edit(plain) == plain, name
    assert oracle.broken_rhythm_ignored(plain + "(AB)>c A>B\n").endswith("(AB)c A>B\n")
    assert oracle.note_before_double_colon_lost(plain + "AB::c\n").endswith("A::c\n")
    assert oracle.fermata_note_lost(plain + 'AHB2">"c\n').endswith("A\n")
    assert oracle.invisible_rest_no_time(plain + "Ax2B\n").endswith("AB\n")
    assert oracle.chord_ties_not_joined(plain + "[CE]-[CE] A-A\n").endswith("[CE][CE] A-A\n")
    assert oracle.grace_note_counted_in_tuplet(plain + "(3{g}ABc\n").endswith("{g}(3::2ABc\n")
