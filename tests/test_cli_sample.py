"""``musicgen-sample`` as a user runs it, on checkpoints that ``musicgen-train`` wrote."""

from __future__ import annotations

import gzip
from collections import Counter
from fractions import Fraction

import mido
from conftest import ASSETS, run

from musicgen.generation.prompt import load_prompt
from musicgen.music import read_abc, read_midi, write_midi


def test_a_midi_prompt_is_continued_and_kept_unchanged(note_ckpt, tmp_path):
    (tune,) = read_abc(
        "X:1\nT:Prompt\nM:3/4\nL:1/8\nQ:1/4=96\nK:G\n"
        "D2|G2 B2 d2|e2 d2 B2|A2 G2 A2|B4 D2|G2 B2 d2|]\n"
    )
    write_midi(tune, tmp_path / "prompt.mid")
    out = tmp_path / "samples"
    res = run(
        "musicgen-sample", f"ckpt={note_ckpt}", f"prompt={tmp_path / 'prompt.mid'}",
        "prompt_bars=2", "n_samples=2", "max_bars=2", f"out_dir={out}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    prompt = load_prompt(tmp_path / "prompt.mid", prompt_bars=2)
    for i in range(2):
        stem = out / f"sample_{i:02d}"
        for suffix in (".mid", ".png", ".wav"):
            assert stem.with_suffix(suffix).stat().st_size > 0, suffix
            assert str(stem.with_suffix(suffix)) in res.stdout
        mido.MidiFile(stem.with_suffix(".mid"))  # a plain MIDI library opens it
        back = read_midi(stem.with_suffix(".mid"))
        added = Counter(back.notes) - Counter(prompt.notes)
        assert Counter(back.notes) - added == Counter(prompt.notes)  # every prompt note, as is
        assert added and all(n.start >= prompt.notes[-1].start for n in added)  # then more
        assert [t.qpm for t in back.tempos] == [96.0]
        assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(3, 4)]
    assert (out / "sample_00.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_abc_prompt_and_no_prompt_both_sample(note_ckpt, tmp_path):
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:T\nM:6/8\nL:1/8\nK:D\nA|dfa afd|gbg fed|cde efg|fdd d2:|\n")
    for args in ((f"prompt={abc}", "prompt_bars=1"), ()):
        out = tmp_path / f"out{len(args)}"
        res = run("musicgen-sample", f"ckpt={note_ckpt}", *args, "n_samples=3", "max_bars=2",
                  "audio=false", f"out_dir={out}", cwd=tmp_path)  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]
        mids = sorted(out.glob("sample_*.mid"))
        assert len(mids) == 3 and not list(out.glob("*.wav"))
        for m in mids:
            mido.MidiFile(m)
        if args:  # the pickup bar and one bar of the prompt come first
            first = read_midi(mids[0]).notes[:4]
            assert [n.pitch for n in first] == [69, 74, 78, 81]
            assert first[1].start == Fraction(1, 2)


def test_a_char_level_abc_checkpoint_writes_tunes_that_become_midi(char_ckpt, tmp_path):
    out = tmp_path / "samples"
    res = run("musicgen-sample", f"ckpt={char_ckpt}", "n_samples=4", "temperature=0.3",
              "max_bars=40", "audio=false", f"out_dir={out}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(list(out.glob("sample_*.abc"))) == 4
    valid = int(res.stdout.split("valid ABC tunes: ")[1].split()[0])
    assert valid >= 2, res.stdout
    mids = sorted(out.glob("sample_*.mid"))
    assert len(mids) == valid
    for m in mids:
        assert read_midi(m).notes
    # an ABC prompt (gzip, as the scale corpora ship) starts every sample's text
    gz = tmp_path / "prompt.abc.gz"
    gz.write_bytes(gzip.compress((ASSETS / "tiny_book.abc").read_bytes()))
    res = run("musicgen-sample", f"ckpt={char_ckpt}", f"prompt={gz}", "prompt_bars=1",
              "n_samples=2", "audio=false", f"out_dir={tmp_path / 'p'}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    for abc in sorted((tmp_path / "p").glob("sample_*.abc")):
        assert abc.read_text().startswith("X:1\nT:Test Jig One\nM:6/8\nL:1/8\nQ:3/8=100\nK:D\n|:A|")


def test_an_abc_prompt_with_repeats_is_written_as_written_and_heard_as_played(char_ckpt, tmp_path):
    # docs/abc_oracle.md, "Which paths expand repeats": a char-level model continues the
    # tune's text in its written order; the sample's MIDI is the tune as a player plays it
    prompt = tmp_path / "jig.abc"
    prompt.write_text((ASSETS / "tiny_book.abc").read_text().split("\n\n")[0] + "\n")
    out = tmp_path / "rep"
    res = run("musicgen-sample", f"ckpt={char_ckpt}", f"prompt={prompt}", "n_samples=2",
              "temperature=0.3", "max_bars=8", "audio=false", f"out_dir={out}",
              cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    written = "|:A|dfa afd|gbg fed|cde efg|fdd d2:|"
    heard_prompt = [n.pitch for n in read_abc(prompt, expand_repeats=True)[0].notes]
    assert len(heard_prompt) == 2 * 23
    heard = 0
    for abc in sorted(out.glob("sample_*.abc")):
        text = abc.read_text()
        assert written in text  # the model saw, and continued, the repeat signs as written
        if not abc.with_suffix(".mid").exists():
            continue  # not a valid tune: no MIDI
        heard += 1
        once = read_abc(text)[0].notes
        played = read_abc(text, expand_repeats=True)[0].notes
        back = [n.pitch for n in read_midi(abc.with_suffix(".mid")).notes]
        assert back == [n.pitch for n in played] and len(back) > len(once)
        assert back[: len(heard_prompt)] == heard_prompt  # the 23 written notes, twice
    assert heard, res.stdout


def test_a_wrong_checkpoint_or_a_corrupt_prompt_is_one_clear_line(note_ckpt, tmp_path):
    res = run("musicgen-sample", "ckpt=no/such.ckpt", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "musicgen-sample: error:" in res.stderr and "no/such.ckpt" in res.stderr
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    res = run("musicgen-sample", f"ckpt={note_ckpt}", f"prompt={bad}", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "musicgen-sample: error:" in res.stderr and "bad.mid" in res.stderr
    not_ckpt = tmp_path / "x.ckpt"
    not_ckpt.write_bytes(bad.read_bytes())
    res = run("musicgen-sample", f"ckpt={not_ckpt}", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "x.ckpt" in res.stderr


def test_a_held_out_tune_of_the_training_corpus_is_continued(note_ckpt, tmp_path):
    """What `make demo` ends with: ckpt=last (the newest run) and a test-split tune."""
    out = tmp_path / "samples"
    home = note_ckpt.parents[5]  # the folder holding outputs/
    res = run("musicgen-sample", "ckpt=last", "prompt=heldout", "prompt_bars=2", "n_samples=1",
              "max_bars=2", "audio=false", f"out_dir={out}", cwd=home)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"checkpoint: {note_ckpt.relative_to(home)}" in res.stdout
    assert "(the test tune" in res.stdout
    prompt = read_midi(out / "heldout_prompt.mid")
    sample = read_midi(out / "sample_00.mid")
    assert prompt.notes and not Counter(prompt.notes) - Counter(sample.notes)
    assert len(sample.notes) > len(prompt.notes)


def test_attention_true_draws_each_layer_and_training_logged_maps(note_ckpt, tmp_path):
    out = tmp_path / "att"
    res = run("musicgen-sample", f"ckpt={note_ckpt}", "n_samples=1", "max_bars=1",
              "audio=false", "attention=true", f"out_dir={out}", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    picture = out / "sample_00_attention_layer0.png"  # the fixture's model has one layer
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(picture) in res.stdout
    assert not (out / "sample_00_attention_layer1.png").exists()
    # the training run's validations drew one map each (AttentionMapLogger)
    maps = sorted((note_ckpt.parents[1] / "attention").glob("step*.png"))
    assert maps and maps[0].stat().st_size > 1000
