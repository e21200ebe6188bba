"""Noise at an exact SNR: every kind, mono and stereo, int16 and float; VAD reference; noise sources."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio import AUDIO_FAMILIES, apply_audio
from gapbench.shifts.audio_io import report_of, to_float
from gapbench.shifts.audio_noise import NoiseBank, active_power, coloured_noise, snr_db
from gapbench.shifts.audio_testsig import speechlike

NOISE = AUDIO_FAMILIES["noise"]


@pytest.fixture(scope="module")
def bank() -> NoiseBank:
    # other "utterances" at another rate, as a runner would collect from the data set
    return NoiseBank([speechlike(1.3, 22050, seed=s) for s in range(10, 17)]).register("test-babble")


@pytest.fixture(scope="module")
def noise_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    sf.write(d / "hum.wav", 0.1 * np.sin(2 * np.pi * 50 * np.arange(8000) / 8000), 8000, subtype="PCM_16")
    sf.write(d / "street.flac", 0.05 * rng.standard_normal((24000, 2)), 48000)
    return str(d)


def _measured(clean: Audio, noisy: Audio) -> float:
    return snr_db(to_float(clean), to_float(noisy))


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "int16"])
@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble", "file"])
def test_snr_is_exact(kind: str, dtype: str, channels: int, bank: NoiseBank, noise_dir: str) -> None:
    clean = speechlike(1.0, 16000, seed=3, channels=channels, dtype=dtype)
    source = {"bank": "test-babble"} if kind == "babble" else {"noise_dir": noise_dir} if kind == "file" else {}
    for snr in (-5.0, 0.0, 12.5, 30.0):
        noisy, ref = apply_audio(clean, "noise", seed=7, reference="a transcript", kind=kind, snr=snr, **source)
        assert ref == "a transcript"
        assert noisy.samples.dtype == clean.samples.dtype
        assert noisy.samples.shape == clean.samples.shape and noisy.sample_rate == 16000
        rep = report_of(noisy)
        assert abs(rep.info["snr_db"] - snr) < 0.05  # float signal, before integer conversion
        if rep.clipped == 0:  # and on the returned array itself
            assert abs(_measured(clean, noisy) - snr) < 0.05, (kind, snr)


def test_ref_speech_uses_active_frames() -> None:
    clean = speechlike(2.0, 16000, seed=4)
    x = to_float(clean)
    padded = Audio(np.concatenate([clean.samples, np.zeros(32000, np.float32)]), 16000)  # 2 s of silence
    noisy, _ = apply_audio(padded, "noise", seed=1, snr=10.0, ref="speech")
    got = snr_db(to_float(padded), to_float(noisy), 16000, ref="speech")
    assert abs(got - 10.0) < 0.05
    # the silence does not lower the reference: active power equals the speech-only clip's active power
    assert active_power(to_float(padded), 16000) == pytest.approx(active_power(x, 16000), rel=1e-6)
    clip_ref, _ = apply_audio(padded, "noise", seed=1, snr=10.0)
    xp = to_float(padded)
    gap = 10 * np.log10(active_power(xp, 16000) / np.mean(xp**2))
    assert gap > 3.0  # at least the 2 s of silence, plus the pauses inside the speech
    assert snr_db(xp, to_float(clip_ref), 16000, ref="speech") == pytest.approx(10.0 + gap, abs=0.05)


def test_integer_clipping_is_reported_not_corrected() -> None:
    loud = speechlike(1.0, 16000, seed=5, dtype="int16", level_dbfs=-6.0)
    noisy, _ = apply_audio(loud, "noise", seed=0, snr=-10.0)
    rep = report_of(noisy)
    assert rep.clipped > 0 and rep.over_full_scale == rep.clipped
    assert noisy.samples.max() == 32767 and noisy.samples.min() == -32768
    assert abs(rep.info["snr_db"] + 10.0) < 1e-9
    fl, _ = apply_audio(speechlike(1.0, 16000, seed=5, level_dbfs=-6.0), "noise", seed=0, snr=-10.0)
    assert report_of(fl).clipped == 0 and report_of(fl).over_full_scale > 0 and np.abs(fl.samples).max() > 1.0


@pytest.mark.parametrize("kind,slope", [("white", 0.0), ("pink", -10 * np.log10(2)), ("brown", -20 * np.log10(2))])
def test_noise_colours_have_their_slope(kind: str, slope: float) -> None:
    n = coloured_noise(2**17, 1, 16000, kind, np.random.default_rng(0))[:, 0]
    psd = np.abs(np.fft.rfft(n)) ** 2
    f = np.fft.rfftfreq(n.size, 1 / 16000)
    band = (f > 100) & (f < 6000)
    per_octave = np.polyfit(np.log2(f[band]), 10 * np.log10(psd[band]), 1)[0]
    assert per_octave == pytest.approx(slope, abs=0.3)


def test_babble_sums_several_talkers_and_is_seeded(bank: NoiseBank) -> None:
    clean = speechlike(1.0, 16000, seed=6)
    a, _ = apply_audio(clean, "noise", seed=3, kind="babble", snr=5, bank=bank, talkers=5)
    b, _ = apply_audio(clean, "noise", seed=3, kind="babble", snr=5, bank="test-babble", talkers=5)
    c, _ = apply_audio(clean, "noise", seed=4, kind="babble", snr=5, bank="test-babble", talkers=5)
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)
    assert len(bank) == 7 and bank.clips_at(16000)[0].shape[0] == round(1.3 * 16000)


@pytest.mark.parametrize("params", [
    {"snr": float("nan")}, {"snr": float("inf")}, {"snr": 10, "kind": "violet"},
    {"snr": 10, "kind": "babble"}, {"snr": 10, "kind": "file", "bank": "no-such-bank"},
    {"snr": 10, "kind": "file", "noise_dir": "/nonexistent/dir"}, {"snr": 10, "ref": "word"},
])
def test_bad_parameters_are_one_line_errors(params: dict) -> None:
    with pytest.raises(InputError) as err:
        NOISE.apply(speechlike(0.5), None, params, 0)
    assert "\n" not in str(err.value)


def test_silent_input_is_refused() -> None:
    with pytest.raises(InputError, match="non-silent"):
        NOISE.apply(Audio(np.zeros(1600, np.int16), 16000), None, {"snr": 10}, 0)
