"""AUDIO_FAMILIES: ladders and parameters declared, every level runs on every layout, determinism."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio import AUDIO_FAMILIES, apply_audio, audio_family
from gapbench.shifts.audio_io import ShiftedAudio, report_of
from gapbench.shifts.audio_testsig import speechlike
from gapbench.shifts.base import SEVERITIES

STOCHASTIC = ("noise", "reverb", "packet_loss")  # the families that draw from the seed
INPUTS = {
    "mono-float32": speechlike(1.0, 16000, seed=11),
    "stereo-int16": speechlike(1.0, 16000, seed=12, channels=2, dtype="int16"),
    "mono-int32-8k": speechlike(1.0, 8000, seed=13, dtype="int32"),
}


def test_every_family_is_declared() -> None:
    assert set(AUDIO_FAMILIES) == {"noise", "reverb", "telephone", "codec", "speed", "pitch", "clipping",
                                   "packet_loss", "gain"}
    for name, fam in AUDIO_FAMILIES.items():
        assert fam.name == name and fam.modality == "audio" and not fam.geometric and fam.description
        assert tuple(sorted(fam.ladder)) == SEVERITIES and fam.params
        for level in SEVERITIES:
            params = fam.params_for(level)
            assert params and all(fam.param(k).check(v, name) == v for k, v in params.items())


@pytest.mark.parametrize("family", sorted(AUDIO_FAMILIES))
@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_every_level_keeps_rate_layout_and_dtype(family: str, kind: str) -> None:
    clean = INPUTS[kind]
    fam = AUDIO_FAMILIES[family]
    for level in SEVERITIES:
        out, ref = fam.apply(clean, "ref", fam.params_for(level), seed=level)
        assert isinstance(out, ShiftedAudio) and isinstance(out, Audio) and ref == "ref"
        assert report_of(out).family == family
        assert out.sample_rate == clean.sample_rate and out.samples.dtype == clean.samples.dtype
        assert out.samples.ndim == clean.samples.ndim and out.samples.shape[1:] == clean.samples.shape[1:]
        if family != "speed":
            assert out.samples.shape == clean.samples.shape
        assert np.isfinite(out.samples.astype(float)).all()
        assert not np.shares_memory(out.samples, clean.samples)


@pytest.mark.parametrize("family", sorted(AUDIO_FAMILIES))
def test_deterministic_per_seed(family: str) -> None:
    clean = INPUTS["stereo-int16"]
    fam = AUDIO_FAMILIES[family]
    params = fam.params_for(3)
    a, _ = fam.apply(clean, None, params, seed=123)
    b, _ = fam.apply(clean, None, params, seed=123)
    c, _ = fam.apply(clean, None, params, seed=124)
    assert np.array_equal(a.samples, b.samples)
    if family in STOCHASTIC:
        assert not np.array_equal(a.samples, c.samples)
    else:
        assert np.array_equal(a.samples, c.samples)


def test_identical_from_several_threads() -> None:
    clean = INPUTS["mono-float32"]
    jobs = [(name, level, seed) for name in AUDIO_FAMILIES for level in (1, 5) for seed in (0, 1)]

    def run(job: tuple[str, int, int]) -> np.ndarray:
        name, level, seed = job
        fam = AUDIO_FAMILIES[name]
        return fam.apply(clean, None, fam.params_for(level), seed)[0].samples

    serial = [run(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        threaded = list(pool.map(run, jobs * 2))
    for i, got in enumerate(threaded):
        assert np.array_equal(got, serial[i % len(jobs)]), jobs[i % len(jobs)]


def test_global_random_stream_is_untouched() -> None:
    np.random.seed(5)
    before = np.random.random()
    np.random.seed(5)
    for fam in AUDIO_FAMILIES.values():
        fam.apply(INPUTS["mono-float32"], None, fam.params_for(2), seed=1)
    assert np.random.random() == before


@pytest.mark.parametrize("call,match", [
    (lambda: apply_audio(INPUTS["mono-float32"], "nosie", snr=3), "did you mean 'noise'"),
    (lambda: apply_audio(INPUTS["mono-float32"], "noise", snr=3, colour="pink"), "parameter 'colour'"),
    (lambda: apply_audio(INPUTS["mono-float32"], "gain", db=float("nan")), "finite"),
    (lambda: apply_audio(INPUTS["mono-float32"], "speed", factor=5), r"\[0.5, 2.0\]"),
    (lambda: apply_audio(INPUTS["mono-float32"], "gain", severity=6), "severity"),
    (lambda: AUDIO_FAMILIES["gain"].apply(np.zeros(10), None, {"db": 1}, 0), "Audio"),
    (lambda: AUDIO_FAMILIES["gain"].apply(Audio(np.zeros(10, np.uint8), 8000), None, {}, 0), "int16"),
    (lambda: AUDIO_FAMILIES["gain"].apply(Audio(np.array([np.nan], np.float32), 8000), None, {}, 0), "finite"),
    (lambda: AUDIO_FAMILIES["gain"].apply(Audio(np.zeros(0, np.float32), 8000), None, {}, 0), "at least one"),
    (lambda: AUDIO_FAMILIES["reverb"].apply(INPUTS["mono-float32"], None, {"rt60": "long"}, 0), "finite float"),
])
def test_bad_input_is_one_line_input_error(call, match: str) -> None:
    with pytest.raises(InputError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


def test_audio_family_lookup() -> None:
    assert audio_family("telephone") is AUDIO_FAMILIES["telephone"]
