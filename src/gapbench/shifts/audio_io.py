"""Audio plumbing shared by the audio shift families: scale conversion, resampling, reports, files.

Every family works on a float64 ``(n, channels)`` view of the input (integer PCM divided by its
full scale, 2**15 for int16 and 2**31 for int32) and converts back to the input's dtype and layout
at the end, so a shift never changes what kind of array a model adapter receives. Values beyond
full scale are never rescaled (that would change the SNR a family promised): an integer output
saturates and the count is *reported*; a float output keeps them and reports them too.

The report travels with the output: families return :class:`ShiftedAudio`, a subclass of
:class:`~gapbench.core.media.Audio` carrying a :class:`ShiftReport` (read it with
:func:`report_of`, which answers ``None`` for plain audio).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError

FULL_SCALE: dict[str, float] = {"int16": 2.0**15, "int32": 2.0**31}
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class ShiftReport:
    """What a shift did that the output array alone does not say.

    ``clipped``: samples saturated when converting back to integer PCM (0 for float outputs);
    ``over_full_scale``: output samples with ``|x| > 1`` on the float scale (for integer outputs
    the same count as ``clipped``; a float output keeps them unclipped); ``info``: family-specific
    measurements (``snr_db``, ``rt60_s``, ``drr_db``, ``bitrate_kbps``, ``lost_fraction``...).
    """

    family: str
    clipped: int = 0
    over_full_scale: int = 0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ShiftedAudio(Audio):
    """Audio returned by an audio shift: the samples plus the :class:`ShiftReport` of that shift."""

    report: ShiftReport | None = field(default=None, compare=False)


def report_of(audio: Any) -> ShiftReport | None:
    """The report of the shift that produced ``audio`` (``None`` for audio no shift produced)."""
    return getattr(audio, "report", None)


def check_audio(audio: Any, family: str) -> Audio:
    """``audio`` if it is a usable :class:`Audio`, else a one-line InputError naming the family."""
    where = f"shift {family!r} input"
    if not isinstance(audio, Audio):
        raise InputError(None, where, "gapbench.core.media.Audio", type(audio).__name__)
    x = audio.samples
    if not isinstance(x, np.ndarray) or x.ndim not in (1, 2):
        raise InputError(None, where, "samples of shape (n,) or (n, channels)", getattr(x, "shape", x))
    if x.dtype.name not in FULL_SCALE and x.dtype.name not in FLOAT_DTYPES:
        raise InputError(None, where, "int16, int32, float32 or float64 samples", x.dtype.name)
    if x.shape[0] == 0 or (x.ndim == 2 and x.shape[1] == 0):
        raise InputError(None, where, "at least one sample", x.shape)
    if int(audio.sample_rate) <= 0:
        raise InputError(None, where, "a positive sample rate", audio.sample_rate)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise InputError(None, where, "finite samples", "NaN or inf")
    return audio


def to_float(audio: Audio) -> np.ndarray:
    """The samples as float64 ``(n, channels)`` on the [-1, 1] scale (a new array)."""
    x = audio.samples
    scale = FULL_SCALE.get(x.dtype.name, 1.0)
    y = x.astype(np.float64)
    if scale != 1.0:
        y /= scale
    return y.reshape(x.shape[0], -1)


def from_float(y: np.ndarray, like: Audio, family: str, info: dict[str, Any] | None = None,
               sample_rate: int | None = None) -> ShiftedAudio:
    """``y`` (float ``(n, channels)``) in ``like``'s dtype and layout, with its :class:`ShiftReport`.

    Integer outputs are rounded and saturated at the PCM limits (counted in ``clipped``); float
    outputs are cast without clipping. No rescaling in either case.
    """
    dtype = like.samples.dtype
    over = int(np.count_nonzero(np.abs(y) > 1.0))
    clipped = 0
    if dtype.name in FULL_SCALE:
        scale = FULL_SCALE[dtype.name]
        z = np.rint(y * scale)
        lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
        clipped = int(np.count_nonzero((z < lo) | (z > hi)))
        out = np.clip(z, lo, hi).astype(dtype)
    else:
        out = y.astype(dtype, copy=False)
    if like.samples.ndim == 1:
        out = out[:, 0]
    out = np.ascontiguousarray(out)
    rep = ShiftReport(family, clipped=clipped, over_full_scale=over, info=dict(info or {}))
    return ShiftedAudio(out, int(sample_rate or like.sample_rate), report=rep)


def resample(y: np.ndarray, in_rate: float, out_rate: float, quality: str = "HQ") -> np.ndarray:
    """``y`` (``(n,)`` or ``(n, channels)`` float) resampled with soxr (the SoX resampler).

    soxr is band-limited and phase-linear; it takes non-integer rates, which speed perturbation
    needs. Output length is ``round(n * out_rate / in_rate)``.
    """
    if in_rate == out_rate:
        return y.copy()
    import soxr

    return soxr.resample(np.ascontiguousarray(y), float(in_rate), float(out_rate), quality=quality)


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cropped or zero-padded at the end to exactly ``n`` samples."""
    if y.shape[0] >= n:
        return y[:n]
    pad = np.zeros((n - y.shape[0],) + y.shape[1:], dtype=y.dtype)
    return np.concatenate([y, pad], axis=0)


@dataclass(frozen=True)
class AudioFileInfo:
    """What ``write_audio(like=...)`` needs to keep a file's format: container, subtype, dtype."""

    format: str  # soundfile major format, e.g. "WAV", "FLAC"
    subtype: str  # e.g. "PCM_16", "FLOAT"
    dtype: str  # the dtype the samples were read as
    sample_rate: int
    channels: int
    frames: int


_SUBTYPE_DTYPE = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32", "FLOAT": "float32",
                  "DOUBLE": "float64"}


def read_audio(path: str | os.PathLike[str]) -> tuple[Audio, AudioFileInfo]:
    """A file as :class:`Audio` in the dtype its subtype implies, with its format for writing back.

    PCM_16 reads as int16, PCM_24/PCM_32 as int32, FLOAT as float32, DOUBLE as float64; compressed
    or other subtypes read as float32. Mono files give ``(n,)`` samples. PCM_24 is read as int32
    (left-aligned), so writing it back keeps the top 24 bits of whatever a shift computed.
    """
    import soundfile as sf

    try:
        meta = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own error types, plus OSError for missing files
        raise InputError(path, None, "an audio file soundfile can read", str(exc).splitlines()[0]) from None
    dtype = _SUBTYPE_DTYPE.get(meta.subtype, "float32")
    data, sr = sf.read(str(path), dtype=dtype, always_2d=False)
    info = AudioFileInfo(meta.format, meta.subtype, dtype, int(sr), int(meta.channels), int(meta.frames))
    return Audio(np.ascontiguousarray(data), int(sr)), info


def write_audio(path: str | os.PathLike[str], audio: Audio, like: AudioFileInfo | None = None) -> Path:
    """Write ``audio`` keeping ``like``'s format and subtype (else WAV in the dtype's subtype).

    Float stays float and PCM_16 stays PCM_16: the samples are written as they are, with no
    rescaling (soundfile converts between float and PCM at full scale).
    """
    import soundfile as sf

    x = audio.samples
    if like is not None:
        fmt, subtype = like.format, like.subtype
    else:
        fmt = "WAV"
        subtype = {"int16": "PCM_16", "int32": "PCM_32", "float32": "FLOAT", "float64": "DOUBLE"}.get(
            x.dtype.name)
        if subtype is None:
            raise InputError(path, None, "int16, int32, float32 or float64 samples", x.dtype.name)
    out = Path(path)
    try:
        sf.write(str(out), x, int(audio.sample_rate), subtype=subtype, format=fmt)
    except Exception as exc:
        raise InputError(out, None, f"a writable {fmt}/{subtype} file", str(exc).splitlines()[0]) from None
    return out


def signal_power(y: np.ndarray) -> float:
    """Mean square over all samples and channels (the power an SNR compares)."""
    return float(np.mean(np.square(y)))
