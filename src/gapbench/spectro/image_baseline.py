"""``baseline:image``: read the word from the spectrogram *pixels* alone -- is the task solvable?

For each item the baseline looks only at the spectrogram picture (the last image of the
message; never the audio, never the answer). It renders a template spectrogram for each of the
four option words with a *different* voice (:data:`TEMPLATE_VOICE`, ``en-us+f3``: other formant
scaling and pitch than the default ``en-us`` build voice) and the same rendering parameters,
turns every image column into cepstrum-like features (the colormap index per pixel row, inverted
from the palette, then a DCT over frequency keeping :data:`N_COEFFS` coefficients after the first
-- MFCC-like, level-independent), and picks the option whose template aligns best by dynamic
time warping (:func:`dtw_cost`: Euclidean frame cost, normalised by n + m).

With a voice from the same engine this is an *upper bound* for pixel reading (the templates are
near-copies of the build voice); the issue measured 84-92% with a differently scaled voice and
~100% with near-identical voices.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from gapbench.spectro.baselines import BaselineModel
from gapbench.spectro.render import RenderParams, colormap_lut, spectrogram_levels

TEMPLATE_VOICE = "en-us+f3"
N_COEFFS = 12
POOL = 4  # columns averaged into one frame before alignment (448 px -> 112 frames)

_TEMPLATES: dict[tuple[str, str, RenderParams], np.ndarray] = {}
_LOCK = threading.Lock()


def levels_from_rgb(image: np.ndarray, colormap: str) -> np.ndarray:
    """Invert a colormap: ``(H, W, 3)`` RGB -> ``(H, W)`` palette index (nearest palette colour)."""
    lut = colormap_lut(colormap).astype(np.int64)
    packed = np.asarray(image, dtype=np.int64).reshape(-1, 3) @ np.array([65536, 256, 1])
    keys, inverse = np.unique(packed, return_inverse=True)  # 1-D: far faster than unique rows
    colours = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1)
    nearest = np.argmin(((colours[:, None, :] - lut[None, :, :]) ** 2).sum(axis=2), axis=1)
    return nearest[inverse.ravel()].reshape(image.shape[:2]).astype(np.float64)


def column_features(levels: np.ndarray) -> np.ndarray:
    """``(frames, N_COEFFS)`` DCT-over-frequency features of the pooled image columns."""
    from scipy.fft import dct

    x = np.asarray(levels, dtype=np.float64)[::-1] / 255.0  # row 0 = lowest frequency
    w = x.shape[1] - x.shape[1] % POOL
    pooled = x[:, :w].reshape(x.shape[0], -1, POOL).mean(axis=2) if w else x
    cep = dct(pooled, type=2, norm="ortho", axis=0)[1:N_COEFFS + 1]
    return cep.T


def template(word: str, voice: str, params: RenderParams) -> np.ndarray:
    """Features of ``word``'s spectrogram spoken by ``voice`` (cached per process)."""
    from gapbench.spectro.build import synthesize_word

    key = (word, voice, params)
    with _LOCK:
        if key not in _TEMPLATES:
            from gapbench.spectro.units import phones_of

            # phone / diphone items' options are ARPAbet ids (upper case), spoken through phoneme input
            unit = "phone" if phones_of(word) is not None and not word.islower() else "word"
            samples, _ = synthesize_word(word, voice, unit=unit)
            _TEMPLATES[key] = column_features(spectrogram_levels(samples, params))
        return _TEMPLATES[key]


def dtw_cost(a: np.ndarray, b: np.ndarray) -> float:
    """Classic DTW (steps (1,0), (0,1), (1,1), Euclidean frame cost), accumulated cost / (n + m).

    Written out rather than ``librosa.sequence.dtw``: the latter's numba compilation took ~10 s
    per process here, longer than aligning a whole 100-item run (~112 x 112 frames, ~10 ms a pair).
    """
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)).tolist()
    n, m = len(cost), len(cost[0]) if cost else 0
    if not n or not m:
        return float("inf")
    inf = float("inf")
    prev = [inf] * (m + 1)
    prev[0] = 0.0
    for i in range(n):
        row = cost[i]
        cur = [inf] * (m + 1)
        for j in range(1, m + 1):
            best = prev[j] if prev[j] < prev[j - 1] else prev[j - 1]
            if cur[j - 1] < best:
                best = cur[j - 1]
            cur[j] = row[j - 1] + best
        prev = cur
        prev[0] = inf
    return prev[m] / (n + m)


class ImageReadingBaseline(BaselineModel):
    """Template matching of the spectrogram image against the options spoken by another voice."""

    kind = "image"

    def __init__(self, seed: int = 0, voice: str = TEMPLATE_VOICE, params: RenderParams | None = None) -> None:
        super().__init__(seed)
        self.voice = voice
        self.params = params or RenderParams()

    def settings(self) -> dict[str, Any]:
        return {"seed": self.seed, "voice": self.voice, "render": self.params.to_json()}

    def answer(self, message: Any) -> str:
        options, labels = self._extras(message)
        image = message.images[-1]  # the spectrogram (a waveform, when present, comes first)
        if image.shape[:2] != (self.params.height, self.params.width):
            self.params = RenderParams(width=image.shape[1], height=image.shape[0], colormap=self.params.colormap)
        feats = column_features(levels_from_rgb(image, self.params.colormap))
        costs = [dtw_cost(feats, template(o, self.voice, self.params)) for o in options]
        return labels[int(np.argmin(costs))]
