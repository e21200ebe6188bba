"""Time-scale shifts: speed perturbation (pitch and tempo together) and pitch shift (duration kept).

* ``speed``: the Kaldi 0.9/1.1 speed-perturbation recipe, i.e. ``sox speed FACTOR``: the samples
  are resampled as if they had been recorded at ``rate * factor`` (soxr, band-limited), so pitch and
  tempo both scale by ``factor`` and the length becomes ``round(n / factor)`` at the same rate. The
  reference moves with time: speaker turns ``(start, end, speaker)`` (a sequence of them, or an
  object with ``.turns`` such as :class:`~gapbench.core.predictions.SpeakerTurns`) are scaled by
  ``1 / factor``; transcripts and anything else are returned unchanged.
* ``pitch``: shift by ``semitones`` keeping the duration, as ``librosa.effects.pitch_shift`` does:
  a phase-vocoder time stretch (Flanagan & Golden 1966; Laroche & Dolson 1999 phase propagation)
  by ``r = 2**(semitones/12)`` and resampling by ``1/r``; upward shifts resample first and stretch
  second (the same result with ``r`` times fewer frames), downward ones the other way round. Frames are ~64 ms
  (``n_fft`` = the power of two nearest 64 ms, hop ``n_fft/4``, Hann window). The result has the
  phase vocoder's usual mild "phasiness"; the length is exactly the input's.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio_io import ShiftedAudio, check_audio, fit_length, from_float, resample, to_float

PV_FRAME_S = 0.064


def scale_turns(reference: Any, factor: float) -> Any:
    """Speaker turns with times divided by ``factor`` (other references unchanged, same type back)."""
    turns = getattr(reference, "turns", None)
    if turns is not None:
        scaled = tuple((s / factor, e / factor, spk) for s, e, spk in turns)
        if dataclasses.is_dataclass(reference) and not isinstance(reference, type):
            return dataclasses.replace(reference, turns=scaled)
        import copy

        out = copy.copy(reference)
        out.turns = scaled
        return out
    if isinstance(reference, list | tuple) and reference and all(
            isinstance(t, list | tuple) and len(t) == 3 and not isinstance(t[0], str) for t in reference):
        scaled_list = [(float(s) / factor, float(e) / factor, spk) for s, e, spk in reference]
        return tuple(scaled_list) if isinstance(reference, tuple) else scaled_list
    return reference


def speed(audio: Audio, reference: Any, params: Mapping[str, Any],
          rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """Resample by ``factor`` (as ``sox speed``); length ``n / factor``; turns scaled by ``1/factor``."""
    audio = check_audio(audio, "speed")
    factor = float(params.get("factor", 1.0))
    if not (math.isfinite(factor) and factor > 0.0):
        raise InputError(None, "shift 'speed' parameter 'factor'", "a positive finite factor", factor)
    sr = int(audio.sample_rate)
    x = to_float(audio)
    y = resample(x, sr * factor, sr)
    return from_float(y, audio, "speed", {"factor": factor, "length": int(y.shape[0])}), \
        scale_turns(reference, factor)


def _nfft(sample_rate: int) -> int:
    return 1 << max(6, int(round(math.log2(PV_FRAME_S * sample_rate))))


def _stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``x`` ``(n, ch)`` -> complex ``(ch, frames, bins)``, centred frames (zero padding n_fft/2)."""
    pad = n_fft // 2
    xp = np.pad(x, ((pad, pad + n_fft), (0, 0)))
    count = 1 + (x.shape[0] + 2 * pad - n_fft) // hop + 1
    idx = np.arange(count)[:, None] * hop + np.arange(n_fft)[None, :]
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    frames = xp.T.astype(np.float32)[:, idx] * win  # (ch, frames, n_fft); float32: ~140 dB of headroom
    return np.fft.rfft(frames, axis=-1)


def _istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Overlap-add inverse of :func:`_stft` (window-sum normalised) -> ``(length, ch)``."""
    win = np.hanning(n_fft + 1)[:-1]
    frames = np.fft.irfft(spec, n=n_fft, axis=-1).astype(np.float64) * win  # (ch, T, n_fft)
    ch, count = frames.shape[0], frames.shape[1]
    k = n_fft // hop
    out = np.zeros((ch, (count + k) * hop))
    norm = np.zeros((count + k) * hop)
    wsq = (win**2).reshape(k, hop)
    for j in range(k):
        out[:, j * hop: j * hop + count * hop] += frames[:, :, j * hop:(j + 1) * hop].reshape(ch, -1)
        norm[j * hop: j * hop + count * hop] += np.tile(wsq[j], count)
    pad = n_fft // 2
    out = out[:, pad: pad + length] / np.maximum(norm[pad: pad + length], 1e-8)
    return fit_length(out.T, length)


def phase_vocoder(spec: np.ndarray, rate: float, hop: int) -> np.ndarray:
    """Time-stretch a ``(ch, frames, bins)`` STFT by ``rate`` (> 1 faster), phases propagated per bin."""
    count, bins = spec.shape[1], spec.shape[2]
    steps = np.arange(0.0, count - 1, rate)
    n_fft = 2 * (bins - 1)
    advance = 2.0 * np.pi * hop * np.arange(bins) / n_fft  # expected phase advance per hop
    i0 = np.floor(steps).astype(int)
    frac = (steps - i0)[None, :, None]
    ang, amp = np.angle(spec), np.abs(spec)  # once per frame, then gathered per output step
    mag = (1.0 - frac) * amp[:, i0, :] + frac * amp[:, i0 + 1, :]
    dphi = ang[:, i0 + 1, :] - ang[:, i0, :] - advance
    dphi -= 2.0 * np.pi * np.round(dphi / (2.0 * np.pi))
    dphi += advance
    phase = np.empty(dphi.shape, dtype=np.float64)
    phase[:, 0, :] = ang[:, 0, :]
    np.cumsum(dphi[:, :-1, :], axis=1, out=phase[:, 1:, :], dtype=np.float64)
    phase[:, 1:, :] += ang[:, :1, :]
    phase = np.remainder(phase, 2.0 * np.pi).astype(np.float32)  # accumulated in float64, then wrapped
    out = np.empty(mag.shape, dtype=np.complex64)
    out.real = mag * np.cos(phase)
    out.imag = mag * np.sin(phase)
    return out


def time_stretch(x: np.ndarray, rate: float, sample_rate: int) -> np.ndarray:
    """``x`` ``(n, ch)`` played ``rate`` times faster at the same pitch: length ``round(n / rate)``."""
    n_fft = _nfft(sample_rate)
    hop = n_fft // 4
    spec = phase_vocoder(_stft(x, n_fft, hop), rate, hop)
    return _istft(spec, n_fft, hop, int(round(x.shape[0] / rate)))


def pitch(audio: Audio, reference: Any, params: Mapping[str, Any],
          rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """Shift the pitch by ``semitones`` (phase vocoder + resampling); duration and reference kept."""
    audio = check_audio(audio, "pitch")
    semitones = float(params.get("semitones", 0.0))
    sr = int(audio.sample_rate)
    x = to_float(audio)
    if semitones == 0.0:
        return from_float(x, audio, "pitch", {"semitones": 0.0}), reference
    r = 2.0 ** (semitones / 12.0)
    if r > 1.0:  # up: resample first (n / r samples, pitch * r), then stretch back to n: fewer frames
        y = time_stretch(resample(x, sr * r, sr), 1.0 / r, sr)
    else:  # down: stretch to n * r samples at the same pitch, then resample to n (pitch * r)
        y = resample(time_stretch(x, 1.0 / r, sr), sr * r, sr)
    y = fit_length(y, x.shape[0])
    return from_float(y, audio, "pitch", {"semitones": semitones, "ratio": r}), reference
