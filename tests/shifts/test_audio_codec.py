"""Codecs through PyAV: bit rate within 10% of the request, and the input's rate/length/layout/dtype back."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av", reason="PyAV (the 'speech' extra) runs the codecs")

from gapbench.errors import InputError  # noqa: E402
from gapbench.shifts.audio import apply_audio  # noqa: E402
from gapbench.shifts.audio_io import report_of, to_float  # noqa: E402
from gapbench.shifts.audio_testsig import speechlike  # noqa: E402

CLIP = speechlike(3.0, 16000, seed=8)


@pytest.mark.parametrize("fmt,bitrate", [("opus", 6), ("opus", 12), ("opus", 24), ("opus", 64),
                                         ("mp3", 8), ("mp3", 16), ("mp3", 32), ("mp3", 64)])
def test_bitrate_within_10_percent(fmt: str, bitrate: float) -> None:
    out, _ = apply_audio(CLIP, "codec", format=fmt, bitrate=bitrate)
    info = report_of(out).info
    assert info["bitrate_kbps"] == pytest.approx(bitrate, rel=0.10)  # encoded packet bytes * 8 / duration
    if bitrate >= 12:  # the whole file, container framing included
        assert info["file_kbps"] == pytest.approx(bitrate, rel=0.10)


@pytest.mark.parametrize("fmt", ["opus", "mp3"])
@pytest.mark.parametrize("sr,channels,dtype", [(16000, 1, "float32"), (44100, 2, "int16"), (22050, 1, "int32")])
def test_codec_returns_the_input_shape_and_is_aligned(fmt: str, sr: int, channels: int, dtype: str) -> None:
    clean = speechlike(1.5, sr, seed=9, channels=channels, dtype=dtype)
    out, ref = apply_audio(clean, "codec", format=fmt, bitrate=48 if channels == 2 else 32, reference="t")
    assert ref == "t" and out.sample_rate == sr
    assert out.samples.shape == clean.samples.shape and out.samples.dtype == clean.samples.dtype
    x, y = to_float(clean)[:, 0], to_float(out)[:, 0]
    c = np.correlate(y[2000:-2000], x[2200:-2200], "valid")  # lags -200..200
    assert int(np.argmax(c)) - 200 in (-1, 0, 1)
    assert np.corrcoef(x, y)[0, 1] > 0.8


def test_unsupported_settings_are_input_errors() -> None:
    with pytest.raises(InputError):
        apply_audio(CLIP, "codec", format="aac", bitrate=16)
    with pytest.raises(InputError):
        apply_audio(CLIP, "codec", format="opus", bitrate=2)
