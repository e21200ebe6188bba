"""read_audio / write_audio keep format and subtype; float <-> PCM conversion and saturation counts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio import apply_audio
from gapbench.shifts.audio_io import from_float, read_audio, to_float, write_audio
from gapbench.shifts.audio_testsig import speechlike


@pytest.mark.parametrize("fmt,subtype,dtype", [("WAV", "PCM_16", "int16"), ("WAV", "FLOAT", "float32"),
                                              ("FLAC", "PCM_16", "int16"), ("WAV", "PCM_24", "int32")])
@pytest.mark.parametrize("channels", [1, 2])
def test_roundtrip_keeps_format_and_subtype(tmp_path: Path, fmt: str, subtype: str, dtype: str, channels: int) -> None:
    src = tmp_path / f"in.{fmt.lower()}"
    clean = speechlike(0.5, 16000, seed=1, channels=channels, dtype="float32")
    sf.write(src, clean.samples, 16000, format=fmt, subtype=subtype)
    audio, info = read_audio(src)
    assert audio.samples.dtype == np.dtype(dtype) and info.subtype == subtype and info.format == fmt
    assert audio.samples.ndim == (1 if channels == 1 else 2) and info.channels == channels
    out, _ = apply_audio(audio, "gain", db=-3.0)
    dst = write_audio(tmp_path / f"out.{fmt.lower()}", out, like=info)
    meta = sf.info(dst)
    assert (meta.format, meta.subtype, meta.samplerate, meta.channels) == (fmt, subtype, 16000, channels)
    back, _ = read_audio(dst)
    if subtype == "PCM_24":  # int32 in memory; the file keeps the top 24 bits
        assert np.abs(back.samples.astype(np.int64) - out.samples).max() < 256
    else:
        assert np.array_equal(back.samples, out.samples)


def test_write_without_like_follows_the_dtype(tmp_path: Path) -> None:
    for dtype, subtype in (("int16", "PCM_16"), ("float32", "FLOAT")):
        path = write_audio(tmp_path / f"{dtype}.wav", speechlike(0.2, 8000, dtype=dtype))
        assert sf.info(path).subtype == subtype


def test_read_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(InputError, match="bad.wav") as err:
        read_audio(bad)
    assert "\n" not in str(err.value)


def test_float_pcm_scale_and_saturation() -> None:
    pcm = Audio(np.array([-32768, 0, 16384, 32767], np.int16), 8000)
    assert to_float(pcm)[:, 0].tolist() == [-1.0, 0.0, 0.5, 32767 / 32768]
    out = from_float(np.array([[1.5], [0.5], [-2.0], [0.0]]), pcm, "test")
    assert out.samples.tolist() == [32767, 16384, -32768, 0]
    assert out.report.clipped == 2 and out.report.over_full_scale == 2
    fl = from_float(np.array([[1.5], [0.5]]), Audio(np.zeros(2, np.float32), 8000), "test")
    assert fl.samples.dtype == np.float32 and fl.samples[0] == 1.5 and fl.report.clipped == 0
