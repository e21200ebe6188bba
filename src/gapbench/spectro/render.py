"""Spectrogram and waveform figures rendered numpy -> colormap -> PIL (no matplotlib in the hot path).

Spectrogram (the paper's published settings): librosa STFT with ``n_fft=128``, ``hop_length=22``,
magnitude in dB relative to the clip's maximum (``librosa.amplitude_to_db(ref=np.max,
top_db=70)``: a 70 dB dynamic range), low frequencies at the bottom, time left to right. The dB
values are mapped linearly from ``[-top_db, 0]`` onto a 256-entry colormap and resized to the
figure size (bilinear). Unpublished (overridable in :class:`RenderParams`): figure size, colormap
(default ``viridis``, a 256-entry interpolation of matplotlib's published anchor colours, so
matplotlib is not needed), waveform colours.

Measured here (OFFLINE.md; ``benchmarks/spectro_build.py`` reruns it): this path ~2 ms per word
vs ~78 ms for matplotlib ``specshow``.
"""
from __future__ import annotations

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
    png_compress_level: int = 1  # zlib level: 1 is ~2x faster to write than 6 for ~20% more bytes

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def colormap_lut(name: str) -> np.ndarray:
    """``(256, 3)`` uint8 lookup table for ``name`` (see :data:`COLORMAPS`)."""
    if name not in _ANCHORS:
        raise ValueError(f"unknown colormap {name!r}: expected one of {', '.join(COLORMAPS)}")
    anchors = np.asarray(_ANCHORS[name], dtype=np.float64)
    x = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, x, anchors[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


def spectrogram_db(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(n_fft // 2 + 1, frames)`` dB spectrogram in ``[-top_db, 0]`` (librosa, the paper's settings)."""
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if np.issubdtype(np.asarray(samples).dtype, np.integer):
        y = y / 32768.0
    spec = np.abs(librosa.stft(y, n_fft=params.n_fft, hop_length=params.hop_length))
    if not spec.any():
        return np.full(spec.shape, -params.top_db, dtype=np.float32)
    return librosa.amplitude_to_db(spec, ref=np.max, top_db=params.top_db).astype(np.float32)


def spectrogram_levels(samples: np.ndarray, params: RenderParams = RenderParams()) -> np.ndarray:
    """``(height, width)`` uint8 colormap indices of the spectrogram figure (0 = -top_db, 255 = max)."""
    from PIL import Image

    db = spectrogram_db(samples, params)
    level = np.clip((db + params.top_db) / params.top_db * 255.0, 0, 255).astype(np.uint8)[::-1]
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


def indexed_png_bytes(levels: np.ndarray, colormap: str, compress_level: int = 1) -> bytes:
    """PNG of colormap indices as a palette image: the same RGB pixels as ``png_bytes(lut[levels])``
    when decoded, a third of the bytes to compress (~10x faster to write than RGB here)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(levels, dtype=np.uint8), mode="P")
    im.putpalette(colormap_lut(colormap).ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def read_png(path: str) -> np.ndarray:
    """An RGB array from a PNG file."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
