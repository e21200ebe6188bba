"""Reverberation by synthetic room impulse responses with a requested RT60 and direct-to-reverberant ratio.

The RIR is the statistical (Polack) model, not an image-source simulation: a direct-path impulse
at t = 0 followed, after 2.5 ms, by Gaussian noise under an exponential envelope
``exp(-3 ln(10) t / RT60)`` (energy falls 60 dB in RT60 seconds), lasting ``1.5 * RT60`` (the tail
is then 90 dB down, so truncation does not bend the decay curve). The direct impulse is scaled so
the energy ratio of direct path to tail is the requested DRR; the whole RIR has unit energy, so a
white input keeps its level. Each channel gets its own tail (independent noise): a diffuse field.

The reported RT60 is measured on the generated RIR by ISO 3382-1: Schroeder backward integration
of the squared response, a least-squares line fitted to the decay curve from -5 dB to -35 dB
(T30), extrapolated to 60 dB. The reported DRR is the energy within 2.5 ms of the direct path
over the energy after it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.shifts.audio_io import ShiftedAudio, check_audio, from_float, to_float

DIRECT_WINDOW_S = 0.0025
TAIL_FACTOR = 1.5


def synth_rir(rt60: float, drr_db: float, sample_rate: int, rng: np.random.Generator,
              channels: int = 1) -> np.ndarray:
    """A ``(len, channels)`` unit-energy RIR with the given RT60 (seconds) and DRR (dB)."""
    n = max(int(round(TAIL_FACTOR * rt60 * sample_rate)), 2)
    t = np.arange(n) / sample_rate
    envelope = np.exp(-3.0 * np.log(10.0) * t / rt60)
    start = max(1, int(round(DIRECT_WINDOW_S * sample_rate)))
    envelope[:start] = 0.0
    tail = rng.standard_normal((n, channels)) * envelope[:, None]
    tail_energy = np.sum(np.square(tail), axis=0)
    tail /= np.sqrt(np.maximum(tail_energy, 1e-300))  # unit tail energy per channel
    h = tail
    h[0, :] = np.sqrt(10.0 ** (drr_db / 10.0))  # direct energy / tail energy = DRR
    h /= np.sqrt(np.sum(np.square(h), axis=0))
    return h


def schroeder_db(h: np.ndarray) -> np.ndarray:
    """The Schroeder energy decay curve of a 1-D impulse response in dB (0 dB at t = 0)."""
    e = np.cumsum(np.square(h)[::-1])[::-1]
    return 10.0 * np.log10(np.maximum(e / e[0], 1e-300))


def rt60_schroeder(h: np.ndarray, sample_rate: int, start_db: float = -5.0, span_db: float = 30.0) -> float:
    """RT60 (s) of a 1-D RIR: T30 by ISO 3382-1 (line fit of the decay from -5 to -35 dB, times 2)."""
    edc = schroeder_db(np.asarray(h, dtype=np.float64))
    idx = np.nonzero((edc <= start_db) & (edc >= start_db - span_db))[0]
    if idx.size < 2:
        return float("nan")
    t = idx / float(sample_rate)
    slope, _ = np.polyfit(t, edc[idx], 1)  # dB per second, negative
    return float(-60.0 / slope) if slope < 0 else float("nan")


def drr_db(h: np.ndarray, sample_rate: int) -> float:
    """Direct-to-reverberant ratio (dB) of a 1-D RIR: energy up to 2.5 ms after the peak vs the rest."""
    h = np.asarray(h, dtype=np.float64)
    peak = int(np.argmax(np.abs(h)))
    cut = peak + max(1, int(round(DIRECT_WINDOW_S * sample_rate)))
    direct = float(np.sum(np.square(h[:cut])))
    rest = float(np.sum(np.square(h[cut:])))
    return float(10.0 * np.log10(direct / rest)) if rest > 0 else float("inf")


def reverb(audio: Audio, reference: Any, params: Mapping[str, Any],
           rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """The input convolved with a synthetic RIR, cut to the input's length (no added delay)."""
    from scipy.signal import oaconvolve

    audio = check_audio(audio, "reverb")
    rt60 = float(params.get("rt60", 0.5))
    drr = float(params.get("drr", 0.0))
    sr = int(audio.sample_rate)
    x = to_float(audio)
    h = synth_rir(rt60, drr, sr, rng, channels=x.shape[1])
    y = oaconvolve(x, h, axes=0)[: x.shape[0]] if h.shape[0] > 1 else x * h[0]
    info = {"rt60_s": rt60_schroeder(h[:, 0], sr), "drr_db": drr_db(h[:, 0], sr),
            "rir_samples": int(h.shape[0])}
    return from_float(y, audio, "reverb", info), reference
