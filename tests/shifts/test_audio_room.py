"""Reverb: the generated RIR's RT60 (Schroeder T30, ISO 3382-1) within 10% of the request; DRR reported."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.shifts.audio import apply_audio
from gapbench.shifts.audio_io import report_of
from gapbench.shifts.audio_room import drr_db, rt60_schroeder, schroeder_db, synth_rir
from gapbench.shifts.audio_testsig import speechlike


@pytest.mark.parametrize("sr", [8000, 16000, 44100])
@pytest.mark.parametrize("rt60", [0.15, 0.4, 0.8, 1.5, 2.5])
@pytest.mark.parametrize("drr", [-6.0, 0.0, 8.0])
def test_rir_rt60_within_10_percent(rt60: float, sr: int, drr: float) -> None:
    for seed in range(3):
        h = synth_rir(rt60, drr, sr, np.random.default_rng(seed), channels=2)
        assert np.sum(h**2, axis=0) == pytest.approx([1.0, 1.0])
        for c in range(2):
            assert rt60_schroeder(h[:, c], sr) == pytest.approx(rt60, rel=0.10)
            assert drr_db(h[:, c], sr) == pytest.approx(drr, abs=1e-6)


def test_schroeder_of_an_ideal_exponential_is_a_line() -> None:
    sr, rt60 = 16000, 0.5
    t = np.arange(int(2 * rt60 * sr)) / sr
    h = 10 ** (-3 * t / rt60)  # amplitude falls 60 dB in rt60: energy 10**(-6 t / rt60)
    assert rt60_schroeder(h, sr) == pytest.approx(rt60, rel=0.01)
    assert schroeder_db(h)[0] == 0.0


@pytest.mark.parametrize("level", [1, 3, 5])
def test_reverb_family_keeps_layout_and_reports(level: int) -> None:
    clean = speechlike(1.0, 16000, seed=1, channels=2, dtype="int16")
    out, ref = apply_audio(clean, "reverb", severity=level, seed=2, reference="text")
    assert ref == "text" and out.samples.shape == clean.samples.shape and out.samples.dtype == np.int16
    rep = report_of(out)
    from gapbench.shifts.audio import AUDIO_FAMILIES

    want = AUDIO_FAMILIES["reverb"].ladder[level]
    assert rep.info["rt60_s"] == pytest.approx(want["rt60"], rel=0.10)
    assert rep.info["drr_db"] == pytest.approx(want["drr"], abs=1e-6)
    # the RIR has unit energy and its direct path at t = 0: no delay, level of the same order
    x = clean.samples[:, 0].astype(float)
    y = out.samples[:, 0].astype(float)
    lag = np.argmax(np.correlate(y[:4000], x[:3000], "valid"))
    assert lag == 0
    assert 0.3 < np.std(y) / np.std(x) < 3.0
