"""Speed perturbation (against sox speed), speaker-turn scaling, pitch shift with the duration kept."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gapbench.core.predictions import SpeakerTurns
from gapbench.shifts.audio import apply_audio
from gapbench.shifts.audio_io import to_float
from gapbench.shifts.audio_testsig import speechlike
from gapbench.shifts.audio_time import time_stretch


@pytest.mark.parametrize("factor", [0.9, 1.1, 1.35])
@pytest.mark.parametrize("dtype,channels", [("float32", 1), ("int16", 2)])
def test_speed_length_and_layout(factor: float, dtype: str, channels: int) -> None:
    clean = speechlike(1.0, 16000, seed=1, dtype=dtype, channels=channels)
    out, _ = apply_audio(clean, "speed", factor=factor)
    assert abs(out.samples.shape[0] - 16000 / factor) <= 1
    assert out.samples.shape[1:] == clean.samples.shape[1:] and out.samples.dtype == clean.samples.dtype
    assert out.sample_rate == 16000


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox (apt package 'sox') is not installed")
@pytest.mark.parametrize("factor", [0.9, 1.1, 1.5])
def test_speed_matches_sox_speed(factor: float, tmp_path: Path) -> None:
    clean = speechlike(2.0, 16000, seed=2)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, clean.samples, 16000, subtype="FLOAT")
    subprocess.run(["sox", "-V1", str(src), str(dst), "speed", str(factor)], check=True)
    ref, sr = sf.read(dst, dtype="float64")
    out, _ = apply_audio(clean, "speed", factor=factor)
    assert sr == 16000 and abs(len(ref) - len(out.samples)) <= 2
    n = min(len(ref), len(out.samples))
    assert np.corrcoef(ref[:n], out.samples[:n].astype(float))[0, 1] > 0.999


def test_speed_scales_speaker_turns() -> None:
    clean = speechlike(1.0, 16000, seed=3)
    turns = SpeakerTurns(turns=((0.0, 0.5, "A"), (0.5, 1.0, "B")))
    _, got = apply_audio(clean, "speed", factor=1.25, reference=turns)
    assert isinstance(got, SpeakerTurns) and got.turns == ((0.0, 0.4, "A"), (0.4, 0.8, "B"))
    _, as_list = apply_audio(clean, "speed", factor=0.5, reference=[(0.1, 0.2, "A")])
    assert as_list == [(0.2, 0.4, "A")]
    _, text = apply_audio(clean, "speed", factor=0.5, reference="a transcript")
    assert text == "a transcript"


def _f0(y: np.ndarray, sr: int) -> float:
    """The strongest spectral peak of a steady harmonic tone below 1 kHz (its fundamental here)."""
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    f = np.fft.rfftfreq(y.size, 1 / sr)
    band = (f > 50) & (f < 1000)
    return float(f[band][np.argmax(spec[band])])


@pytest.mark.parametrize("semitones", [-4.0, 3.0, 7.0])
def test_pitch_moves_f0_and_keeps_duration(semitones: float) -> None:
    sr = 16000
    t = np.arange(2 * sr) / sr
    tone = sum(np.sin(2 * np.pi * 200 * k * t) / k for k in range(1, 6)) * 0.2
    clean = speechlike(0.1, sr)  # only for its type
    clean = type(clean)(tone.astype(np.float32), sr)
    out, _ = apply_audio(clean, "pitch", semitones=semitones)
    assert out.samples.shape == clean.samples.shape
    got = _f0(out.samples[4000:-4000].astype(float), sr)
    assert got == pytest.approx(200 * 2 ** (semitones / 12), rel=0.02)
    # the envelope stays in place: energy per quarter within 1.5 dB of the input's
    q = np.array_split(out.samples.astype(float) ** 2, 4)
    assert max(10 * np.log10(a.mean() / np.mean(tone**2)) for a in q[1:3]) < 1.5


def test_time_stretch_length_and_identity_rate() -> None:
    x = to_float(speechlike(1.0, 16000, seed=4))
    assert time_stretch(x, 0.8, 16000).shape == (20000, 1)
    same = time_stretch(x, 1.0, 16000)
    assert np.corrcoef(same[:, 0], x[:, 0])[0, 1] > 0.999


def test_pitch_speech_keeps_layout() -> None:
    clean = speechlike(1.0, 22050, seed=5, channels=2, dtype="int16")
    out, ref = apply_audio(clean, "pitch", severity=5, reference="t")
    assert ref == "t" and out.samples.shape == clean.samples.shape and out.samples.dtype == np.int16
