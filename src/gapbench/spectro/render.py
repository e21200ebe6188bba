"""Spectrogram and waveform figures rendered numpy -> colormap -> PIL (no matplotlib in the hot path).

Spectrogram (the paper's published settings): librosa's STFT with ``n_fft=128``,
``hop_length=22``, magnitude in dB relative to the clip's maximum
(``librosa.amplitude_to_db(ref=np.max, top_db=70)``: a 70 dB dynamic range), both written out in
numpy/scipy (:func:`stft_magnitude`, :func:`spectrogram_db`; equal to librosa to float32
rounding, tested); low frequencies at the bottom, time left to right. The dB values are mapped
linearly from ``[-top_db, 0]`` onto a 256-entry colormap and resized to the figure size
(bilinear). Unpublished (overridable in :class:`RenderParams`): figure size, colormap (default
``viridis``, a 256-entry interpolation of matplotlib's published anchor colours, so matplotlib is
not needed), waveform colours. PNGs are written directly (:func:`indexed_png_bytes`).

``benchmarks/spectro_build.py`` compares this path with matplotlib + ``librosa.display.specshow``
(whole processes; render loop per word, wall and CPU).
"""
from __future__ import annotations

import functools
import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# matplotlib's viridis / magma at 9 evenly spaced points (from matplotlib._cm_listed), interpolated to 256
_ANCHORS: dict[str, list[tuple[int, int, int]]] = {
    "viridis": [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129),
                (92, 200, 99), (170, 220, 50), (253, 231, 37)],
    "magma": [(0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122), (229, 80, 100),
              (251, 135, 97), (254, 194, 135), (252, 253, 191)],
    "gray": [(0, 0, 0), (255, 255, 255)],
}
COLORMAPS: tuple[str, ...] = tuple(_ANCHORS)


@dataclass(frozen=True)
class RenderParams:
    """Everything that decides the pixels (stored in the build manifest)."""

    n_fft: int = 128
    hop_length: int = 22
    top_db: float = 70.0
    width: int = 448
    height: int = 224
    colormap: str = "viridis"
    wave_height: int = 112
    png_compress_level: int = 1  # deflate level 0-3 of ISA-L's encoder (see indexed_png_bytes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@functools.lru_cache(maxsize=8)
def colormap_lut(name: str) -> np.ndarray:
    """``(256, 3)`` uint8 lookup table for ``name`` (see :data:`COLORMAPS`); read-only, built once."""
    if name not in _ANCHORS:
        raise ValueError(f"unknown colormap {name!r}: expected one of {', '.join(COLORMAPS)}")
    anchors = np.asarray(_ANCHORS[name], dtype=np.float64)
    x = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    lut = np.stack([np.interp(t, x, anchors[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)
    lut.setflags(write=False)
    return lut


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    """The periodic Hann window librosa's ``stft`` uses (``scipy.signal.get_window("hann", n, fftbins=True)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _stft_frames(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``|STFT|`` frames-major, ``(frames, n_fft // 2 + 1)`` float32 (see :func:`stft_magnitude`)."""
    import scipy.fft

    pad = n_fft // 2
    x = np.zeros(max(len(y) + 2 * pad, n_fft), dtype=np.float32)
    x[pad:pad + len(y)] = y
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop_length] * _window(n_fft)
    return np.abs(scipy.fft.rfft(frames, axis=1, overwrite_x=True))


def stft_magnitude(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``|STFT|`` as ``librosa.stft(y, n_fft, hop_length)`` computes it with its defaults (centred
    frames, zero padding of ``n_fft // 2`` at each end, periodic Hann window), in float32 with
    ``scipy.fft``: the same numbers to float32 rounding (tested against librosa) at ~a quarter of
    the cost for these short clips (no per-call dispatch and checks)."""
    return _stft_frames(np.asarray(y, dtype=np.float32), n_fft, hop_length).T


def _db_frames(samples: np.ndarray, params: RenderParams) -> np.ndarray:
    """Frames-major dB in ``[-top_db, 0]``, computed in place (see :func:`spectrogram_db`)."""
    y = np.asarray(samples, dtype=np.float32)
    if np.issubdtype(np.asarray(samples).dtype, np.integer):
        y = y / np.float32(32768.0)
    mag = _stft_frames(y, params.n_fft, params.hop_length)
    peak = float(mag.max()) if mag.size else 0.0
    if peak <= 0:
        mag.fill(-params.top_db)
        return mag
    # librosa: power_to_db(S**2, ref=max**2, amin=1e-10); the ratio form makes the peak exactly 0 dB,
    # so librosa's floor (max - top_db) is -top_db
    np.maximum(mag, np.float32(1e-5), out=mag)
    np.square(mag, out=mag)
    mag *= np.float32(1.0 / max(peak ** 2, 1e-10))
    np.log10(mag, out=mag)
    mag *= np.float32(10.0)
    np.maximum(mag, np.float32(-params.top_db), out=mag)
    return mag


def spectrogram_db(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(n_fft // 2 + 1, frames)`` dB spectrogram in ``[-top_db, 0]`` (the paper's settings).

    ``librosa.amplitude_to_db(librosa.stft(...), ref=np.max, top_db=top_db)`` written out with
    numpy: ``20 log10(max(|S|, 1e-5) / max|S|)`` floored at ``-top_db``.
    """
    return np.ascontiguousarray(_db_frames(samples, params).T)


def spectrogram_levels(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(height, width)`` uint8 colormap indices of the spectrogram figure (0 = -top_db, 255 = max)."""
    from PIL import Image

    db = _db_frames(samples, params)
    db += np.float32(params.top_db)
    db *= np.float32(255.0 / params.top_db)
    np.clip(db, 0, 255, out=db)
    level = np.ascontiguousarray(db.astype(np.uint8).T[::-1])  # low frequencies at the bottom
    img = Image.fromarray(level, mode="L").resize((params.width, params.height), Image.Resampling.BILINEAR)
    return np.asarray(img)


def spectrogram_image(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(height, width, 3)`` uint8 RGB spectrogram figure."""
    return colormap_lut(params.colormap)[spectrogram_levels(samples, params)]


def waveform_image(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(wave_height, width, 3)`` uint8 RGB waveform figure."""
    return colormap_lut(params.colormap)[waveform_levels(samples, params)]


def waveform_levels(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(wave_height, width)`` colormap indices of the waveform: per pixel column the min..max envelope."""
    y = np.asarray(samples, dtype=np.float64)
    if np.issubdtype(np.asarray(samples).dtype, np.integer):
        y = y / 32768.0
    w, h = params.width, params.wave_height
    edges = np.linspace(0, len(y), w + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
    edges = np.minimum(edges, max(len(y), 1))
    y = y if len(y) else np.zeros(1)
    lo = np.minimum.reduceat(y, edges[:-1].clip(0, len(y) - 1))
    hi = np.maximum.reduceat(y, edges[:-1].clip(0, len(y) - 1))
    peak = max(float(np.abs(y).max()), 1e-9)
    to_row = lambda v: np.clip(((1 - v / peak) / 2 * (h - 1)).round(), 0, h - 1).astype(int)  # noqa: E731
    top, bottom = to_row(hi), to_row(lo)
    rows = np.arange(h)[:, None]
    ink = (rows >= top[None, :]) & (rows <= bottom[None, :])
    img = np.zeros((h, w), dtype=np.uint8)
    img[ink] = 200
    img[h // 2, :] = np.maximum(img[h // 2, :], 120)  # the zero line
    return img


def png_bytes(image: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG-encode an RGB array (deterministic bytes for the same array and level)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def indexed_png_bytes(levels: np.ndarray, colormap: str, compress_level: int = 1) -> bytes:
    """PNG of colormap indices as an 8-bit palette image: decodes to the same RGB pixels as
    ``png_bytes(lut[levels])`` with a third of the bytes to compress.

    Written directly (PNG specification, ISO/IEC 15948: IHDR, PLTE, one IDAT, IEND) rather than
    through PIL, for two choices PIL does not offer: every row uses the *Up* filter (the difference
    to the row above: a spectrogram is upsampled vertically from 65 frequency bins, a waveform is
    mostly constant columns, so the filtered rows are mostly zeros), and the deflate stream comes
    from ISA-L (``isal``, Intel's igzip; levels 0-3), a standard zlib stream that any PNG reader
    decodes. Measured on a 448x224 spectrogram: ISA-L level 1 0.13 ms and 42 kB; zlib level 1 with
    its run-length strategy 0.5-0.8 ms and 42 kB; PIL 1.1 ms and 67 kB. The bytes depend only on
    the array, the palette, the level and ISA-L's version (in the build's generator versions).
    """
    import struct

    from isal import isal_zlib

    a = np.ascontiguousarray(levels, dtype=np.uint8)
    if a.ndim != 2 or not a.size:
        raise ValueError(f"indexed_png_bytes needs a non-empty 2-D array, got shape {a.shape}")
    if not 0 <= compress_level <= 3:
        raise ValueError(f"png_compress_level must be 0-3 (ISA-L's deflate levels), got {compress_level}")
    h, w = a.shape
    up = np.empty((h, w + 1), dtype=np.uint8)
    up[:, 0] = 2  # filter type 2 (Up) on every row
    up[0, 1:] = a[0]
    np.subtract(a[1:], a[:-1], out=up[1:, 1:])  # modulo 256, as the filter defines
    idat = isal_zlib.compress(up.tobytes(), compress_level)
    header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)  # 8-bit, colour type 3 (palette)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", colormap_lut(colormap).tobytes())
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def read_png(path: str) -> np.ndarray:
    """An RGB array from a PNG file."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
