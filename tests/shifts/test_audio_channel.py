"""Telephone band (energy outside 300-3400 Hz), G.711 codes, clipping, packet loss and gain."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.core.media import Audio
from gapbench.shifts.audio import apply_audio
from gapbench.shifts.audio_channel import gilbert_elliott, mu_law_decode, mu_law_encode
from gapbench.shifts.audio_io import report_of, to_float
from gapbench.shifts.audio_testsig import speechlike


def _out_of_band_fraction(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / sr)
    inside = (f >= 300) & (f <= 3400)
    return float(spec[~inside].sum() / spec.sum())


@pytest.mark.parametrize("sr", [16000, 44100])
@pytest.mark.parametrize("level", [1, 5])
def test_telephone_energy_outside_the_band_under_1_percent(sr: int, level: int) -> None:
    clean = speechlike(2.0, sr, seed=2)
    assert _out_of_band_fraction(to_float(clean)[:, 0], sr) > 0.05  # the input has plenty outside
    out, _ = apply_audio(clean, "telephone", severity=level)
    assert out.samples.shape == clean.samples.shape and out.sample_rate == sr
    assert _out_of_band_fraction(to_float(out)[:, 0], sr) < 0.01


def test_g711_reference_codes() -> None:
    # ITU-T G.711 mu-law: +0 -> 0xFF, full scale + -> 0x80, full scale - -> 0x00; 16-bit 1000 -> 0xCE
    x = np.array([0.0, 1.0, -1.0, 1000 / 32767, -1000 / 32767])
    assert list(mu_law_encode(x)) == [0xFF, 0x80, 0x00, 0xCE, 0x4E]
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(mu_law_encode(mu_law_decode(codes)), np.where(codes == 0x7F, 0xFF, codes))
    x = np.linspace(-1, 1, 10001)
    err = mu_law_decode(mu_law_encode(x)) - x
    assert 10 * np.log10(np.mean(x**2) / np.mean(err**2)) > 35  # ~38 dB for a full-scale ramp


def test_clipping_reports_fraction_and_threshold() -> None:
    clean = speechlike(1.0, 16000, seed=3, dtype="int16")
    x = to_float(clean)
    out, _ = apply_audio(clean, "clipping", fraction=0.25)
    rep = report_of(out)
    level = 0.25 * np.abs(x).max()
    assert rep.info["clipped_fraction"] == pytest.approx(np.mean(np.abs(x) > level))
    assert np.abs(to_float(out)).max() <= level + 1 / 32768
    db, _ = apply_audio(clean, "clipping", dbfs=-30.0)
    assert np.abs(to_float(db)).max() == pytest.approx(10 ** (-30 / 20), abs=1 / 32768)


def test_gilbert_elliott_rate_and_burst() -> None:
    lost = gilbert_elliott(200_000, 0.2, 3.0, np.random.default_rng(0))
    assert lost.mean() == pytest.approx(0.2, abs=0.01)
    edges = np.flatnonzero(np.diff(np.r_[0, lost.astype(int), 0]))
    runs = edges[1::2] - edges[0::2]
    assert runs.mean() == pytest.approx(3.0, rel=0.05)
    assert not gilbert_elliott(100, 0.0, 1.0, np.random.default_rng(0)).any()


@pytest.mark.parametrize("fill", ["zero", "repeat"])
def test_packet_loss_frames(fill: str) -> None:
    clean = speechlike(2.0, 16000, seed=4, channels=2)
    out, _ = apply_audio(clean, "packet_loss", seed=5, rate=0.3, burst=2, fill=fill, frame_ms=20)
    rep = report_of(out)
    frame = rep.info["frame_samples"]
    assert frame == 320 and rep.info["frames"] == 100
    x, y = to_float(clean), to_float(out)
    changed = [i for i in range(100) if not np.array_equal(x[i * frame:(i + 1) * frame], y[i * frame:(i + 1) * frame])]
    assert len(changed) <= rep.info["lost_frames"] and rep.info["lost_frames"] > 10
    for i in changed:
        seg = y[i * frame:(i + 1) * frame]
        if fill == "zero":
            assert not seg.any()
        else:  # a copy of some earlier received frame
            assert any(np.array_equal(seg, x[j * frame:(j + 1) * frame]) for j in range(i)) or not seg.any()


def test_gain_saturates_integers_and_reports() -> None:
    clean = speechlike(1.0, 16000, seed=6, dtype="int16", level_dbfs=-12)
    out, _ = apply_audio(clean, "gain", db=20.0)
    rep = report_of(out)
    assert rep.clipped > 0 and out.samples.max() == 32767
    quiet, _ = apply_audio(clean, "gain", severity=1)
    assert report_of(quiet).clipped == 0
    assert np.std(quiet.samples.astype(float)) / np.std(clean.samples.astype(float)) == pytest.approx(10 ** (-6 / 20), rel=1e-3)
    f32 = Audio(np.array([0.5, -0.5], np.float32), 16000)
    loud, _ = apply_audio(f32, "gain", db=7.0)
    assert report_of(loud).clipped == 0 and report_of(loud).over_full_scale == 2 and loud.samples[0] > 0.99
