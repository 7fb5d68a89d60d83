"""Rendering: the tempo-map clock, the piano-roll PNG and the WAV file."""

from __future__ import annotations

import shutil
import warnings
import wave
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from musicgen.music import Note, Score, Tempo, TimeSignature, render
from musicgen.music.render import RELEASE, RenderError, piano_roll, render_wav
from musicgen.music.timeline import bar_lines, quarters_at, seconds_at

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _tempo_score(notes: list[Note]) -> Score:
    """120 qpm for the first 4 quarters, then 60 qpm."""
    return Score(notes=notes, tempos=[Tempo(F(0), 120.0), Tempo(F(4), 60.0)])


def _read_wav(path: Path) -> tuple[np.ndarray, wave.Wave_read]:
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2"), wav


def test_seconds_and_quarters_follow_the_tempo_map():
    score = _tempo_score([])
    assert seconds_at(score, F(4)) == pytest.approx(2.0)
    assert seconds_at(score, F(6)) == pytest.approx(4.0)
    assert quarters_at(score, 4.0) == 6 and quarters_at(score, 1.0) == 2
    assert seconds_at(Score(), F(2)) == pytest.approx(1.0)  # empty map: 120 qpm


def test_bar_lines_follow_pickup_and_meter_changes():
    score = Score(
        time_signatures=[TimeSignature(F(0), 3, 4), TimeSignature(F(7), 6, 8)], pickup=F(1)
    )
    lines = bar_lines(score)
    assert [next(lines) for _ in range(5)] == [1, 4, 7, 10, 13]


def _marker_columns(png: Path) -> np.ndarray:
    """Columns of the image where a tall run of pixels has the prompt-end red."""
    from matplotlib.image import imread

    rgb = imread(png)[..., :3]
    red = np.array([0xD6, 0x27, 0x28]) / 255
    is_red = np.abs(rgb - red).max(axis=-1) < 0.08
    return np.flatnonzero(is_red.sum(axis=0) > rgb.shape[0] // 2)


def test_piano_roll_marks_the_prompt_end(tmp_path):
    notes = [Note(60 + i % 12, F(i, 2), F(1, 2), velocity=30 + 6 * i) for i in range(16)]
    score = Score(notes=notes, title="Roll")
    marked, plain = tmp_path / "marked.png", tmp_path / "plain.png"
    piano_roll(score, marked, prompt_end=F(4))
    piano_roll(score, plain)
    assert marked.read_bytes()[:8] == PNG_SIGNATURE and marked.stat().st_size > 5000
    columns = _marker_columns(marked)
    assert columns.size and columns.max() - columns.min() < 6  # one vertical line
    assert _marker_columns(plain).size == 0


def test_piano_roll_draws_programs_drums_and_empty_scores(tmp_path):
    notes = [Note(60, F(0), F(2), program=0), Note(43, F(0), F(4), program=32)]
    notes.append(Note(36, F(1), F(0), is_drum=True))
    piano_roll(Score(notes=notes, pickup=F(1)), tmp_path / "band.png", prompt_end=F(1))
    piano_roll(Score(), tmp_path / "empty.png", prompt_end=F(0), title="empty")
    for name in ("band.png", "empty.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_SIGNATURE


def test_a_roll_of_many_programs_keeps_its_layout(tmp_path):
    """An untrained model's sample may play sixty programs: the legend lists ten, so the
    roll keeps its axes (matplotlib would otherwise warn and collapse them)."""
    notes = [Note(30 + p, F(p, 8), F(1), program=p) for p in range(60)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied ..."
        piano_roll(Score(notes=notes), tmp_path / "many.png")


def test_builtin_wav_is_silent_in_the_rest_and_lasts_the_score(tmp_path):
    # a rest of 2 quarters (1 s at 120 qpm), then notes across the tempo change
    score = _tempo_score([Note(60, F(2), F(1)), Note(64, F(3), F(3), velocity=100)])
    path = tmp_path / "out.wav"
    assert render_wav(score, path, sample_rate=16000) == "builtin"
    samples, wav = _read_wav(path)
    assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (16000, 2, 1)
    expected = seconds_at(score, score.end)  # 2 s + 2 quarters at 60 qpm = 4 s
    assert expected == pytest.approx(4.0)
    assert abs(len(samples) / 16000 - expected) <= RELEASE + 1e-3
    assert not samples[:16000].any()  # silent before the first note
    during = samples[16000 : 4 * 16000]
    assert np.abs(during).max() > 10000
    windows = np.abs(during[: len(during) // 1600 * 1600]).reshape(-1, 1600).max(axis=1)
    assert windows.min() > 1000  # sounding all through the notes, not just at onsets


def test_builtin_wav_a4_sounds_at_440_hz(tmp_path):
    path = tmp_path / "a4.wav"
    render_wav(Score([Note(69, F(0), F(2))]), path, sample_rate=22050)  # 1 s at 120 qpm
    samples, wav = _read_wav(path)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    freqs = np.fft.rfftfreq(len(samples), 1 / wav.getframerate())
    assert abs(freqs[spectrum.argmax()] - 440.0) <= 5.0


def test_builtin_wav_of_an_empty_score_is_short_silence(tmp_path):
    path = tmp_path / "empty.wav"
    assert render_wav(Score(), path) == "builtin"
    samples, _ = _read_wav(path)
    assert len(samples) <= 22050 * RELEASE + 1 and not samples.any()


def test_missing_soundfont_is_an_error(tmp_path):
    with pytest.raises(RenderError, match="nope.sf2"):
        render_wav(Score(), tmp_path / "x.wav", soundfont=str(tmp_path / "nope.sf2"))


def _fake_fluidsynth(monkeypatch, tmp_path, returncode: int) -> list[list[str]]:
    """Pretend fluidsynth is installed; record its command lines, write the -F file."""
    calls: list[list[str]] = []

    def run(command, **kwargs):
        calls.append(command)
        if returncode == 0:
            out = Path(command[command.index("-F") + 1])
            render._write_wav(np.zeros(100), out, int(command[command.index("-r") + 1]))
        return render.subprocess.CompletedProcess(command, returncode, "", "boom")

    monkeypatch.setattr(render.shutil, "which", lambda name: "/usr/bin/fluidsynth")
    monkeypatch.setattr(render.subprocess, "run", run)
    return calls


def test_fluidsynth_command_line(monkeypatch, tmp_path):
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"RIFF")
    calls = _fake_fluidsynth(monkeypatch, tmp_path, returncode=0)
    out = tmp_path / "fs.wav"
    assert (
        render_wav(Score([Note(60, F(0), F(1))]), out, 44100, soundfont=str(font)) == "fluidsynth"
    )
    command = calls[0]
    assert command[0] == "/usr/bin/fluidsynth" and str(font) in command
    assert command[-1].endswith(".mid") and "44100" in command and out.is_file()


def test_failing_fluidsynth_falls_back_to_builtin(monkeypatch, tmp_path):
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"RIFF")
    _fake_fluidsynth(monkeypatch, tmp_path, returncode=1)
    out = tmp_path / "fb.wav"
    assert render_wav(Score([Note(60, F(0), F(1))]), out, soundfont=str(font)) == "builtin"
    assert _read_wav(out)[0].any()


@pytest.mark.skipif(
    not (shutil.which("fluidsynth") and any(Path(f).is_file() for f in render.SOUNDFONTS)),
    reason="needs the fluidsynth binary and a GM SoundFont "
    "(apt-get install fluidsynth fluid-soundfont-gm)",
)
def test_real_fluidsynth(tmp_path):
    path = tmp_path / "real.wav"
    assert render_wav(Score([Note(69, F(0), F(2), velocity=100)]), path) == "fluidsynth"
    samples, wav = _read_wav(path)
    assert wav.getframerate() == 22050 and samples.any()
