"""Speech-like test signals for the audio shifts' tests and benchmarks (no recordings needed).

A voiced source (harmonics of a gliding 65-215 Hz fundamental falling 6 dB/octave: glottal source and lip
radiation)
through three formant resonators that move per syllable, with ~4 syllables per second, short
unvoiced (noise) bursts and pauses, so a signal has speech's spectral tilt, pitch, formants and
silences: what noise-at-SNR (``ref=speech``), band limits, codecs and pitch shifts act upon.
"""
from __future__ import annotations

import numpy as np

from gapbench.core.media import Audio

_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (300, 870, 2240), (660, 1720, 2410))


def speechlike(duration: float = 2.0, sample_rate: int = 16000, seed: int = 0, channels: int = 1,
               level_dbfs: float = -20.0, dtype: str = "float32") -> Audio:
    """A deterministic speech-like clip at ``level_dbfs`` RMS (over the clip), as :class:`Audio`."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(round(duration * sample_rate))
    t = np.arange(n) / sample_rate
    glide = np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6.28))
    f0 = 140.0 + 60.0 * glide + 15.0 * np.sin(2 * np.pi * 5.0 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = np.zeros(n)
    for k in range(1, 40):
        audible = (k * f0) < 0.45 * sample_rate
        voiced += audible * np.sin(k * phase) / k  # -6 dB/octave: glottal source + lip radiation
    syl = int(0.25 * sample_rate)
    out = np.zeros(n)
    for i, a in enumerate(range(0, n, syl)):
        b = min(a + syl, n)
        seg = voiced[a:b].copy()
        if rng.random() < 0.2:  # a pause
            continue
        if rng.random() < 0.3:  # an unvoiced consonant at the syllable start
            m = min(b - a, int(0.06 * sample_rate))
            seg[:m] = 0.3 * rng.standard_normal(m)
        y = np.zeros_like(seg)
        for f in _VOWELS[(i + int(rng.integers(5))) % 5]:
            if f >= 0.45 * sample_rate:
                continue
            r = np.exp(-np.pi * 80.0 / sample_rate)
            w = 2 * np.pi * f / sample_rate
            y += lfilter([(1 - r) / 2, 0, -(1 - r) / 2], [1, -2 * r * np.cos(w), r * r], seg)  # band-pass
        env = np.sin(np.pi * np.linspace(0, 1, b - a)) ** 0.5
        out[a:b] = y * env
    if not out.any():
        out = voiced
    out *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(out**2))
    if channels > 1:
        delays = [int(rng.integers(0, 20)) for _ in range(channels)]
        out = np.stack([np.roll(out, d) * (1.0 - 0.1 * c) for c, d in enumerate(delays)], axis=1)
    if dtype == "int16":
        return Audio(np.clip(np.rint(out * 32768), -32768, 32767).astype(np.int16), sample_rate)
    if dtype == "int32":
        return Audio(np.clip(np.rint(out * 2**31), -(2**31), 2**31 - 1).astype(np.int32), sample_rate)
    return Audio(out.astype(dtype), sample_rate)
