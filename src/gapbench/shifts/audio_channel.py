"""Channel shifts: the telephone band, hard clipping, packet loss and gain.

* ``telephone``: a narrowband call. Resample to 8 kHz (soxr), band-pass 300-3400 Hz (the ITU-T
  G.712 voice channel) as a zero-phase FFT-domain mask over the whole zero-padded clip: gain 1
  from 330 to 3370 Hz, raised-cosine ramps to 0 at 300 and 3400 Hz, 0 outside (an IIR filter
  leaves several % of a male voice's energy just below 300 Hz; the mask leaves none, and adds
  no delay), G.711 mu-law companding (8-bit segmented codes, ITU-T G.711 Table 2a), then back to the
  input rate. The companding adds the codec's signal-dependent quantisation noise. ``bits`` < 8
  keeps fewer mantissa bits (a coarser quantiser, a worse line, not a standard): ladder levels 2-5.
* ``clipping``: hard clip at ``fraction`` of the clip's peak or, if ``dbfs`` is given, at that
  absolute level (``10**(dbfs/20)`` of full scale). The clipped fraction of samples is reported.
* ``packet_loss``: the clip is cut into ``frame_ms`` frames (default 20 ms, one VoIP packet); a
  two-state Gilbert-Elliott chain decides which are lost, with stationary loss probability
  ``rate`` and mean burst length ``burst`` frames (``burst = 1`` is independent Bernoulli loss).
  Lost frames are zero-filled (``fill=zero``) or repeat the last received frame
  (``fill=repeat``, the simplest concealment; zeros before any frame was received).
* ``gain``: multiply by ``10**(db/20)``. Integer outputs saturate and report the count.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio_io import ShiftedAudio, check_audio, fit_length, from_float, resample, to_float

TELEPHONE_RATE = 8000
TELEPHONE_BAND_HZ = (300.0, 3400.0)
TELEPHONE_RAMP_HZ = 30.0
TELEPHONE_PAD_S = 0.25
G711_BIAS = 0x84
G711_CLIP = 32635
FILL_MODES: tuple[str, ...] = ("zero", "repeat")


def mu_law_encode(x: np.ndarray, bits: int = 8) -> np.ndarray:
    """ITU-T G.711 mu-law encoding (the segmented table, as in the reference g711.c) of float [-1, 1].

    Samples are taken at 14-bit precision, biased by 33 (0x84 on the 16-bit scale), split into a
    3-bit segment and a 4-bit mantissa; the code is the inverted sign|segment|mantissa byte.
    ``bits`` < 8 keeps only ``bits - 4`` mantissa bits (a coarser, non-standard quantiser).
    """
    drop = 8 - bits
    s = np.rint(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int32)
    sign = (s < 0).astype(np.int32)
    mag = np.minimum(np.abs(s), G711_CLIP) + G711_BIAS
    seg = np.floor(np.log2(mag)).astype(np.int32) - 7
    mant = ((mag >> (seg + 3)) & 0x0F) >> drop << drop
    return (~((sign << 7) | (seg << 4) | mant) & 0xFF).astype(np.uint8)


def mu_law_decode(code: np.ndarray, bits: int = 8) -> np.ndarray:
    """Inverse of :func:`mu_law_encode` (G.711 decoding; truncated mantissas decode to mid-interval)."""
    drop = 8 - bits
    c = ~code.astype(np.int32) & 0xFF
    seg = (c >> 4) & 0x07
    mant = (c & 0x0F) | ((1 << drop) >> 1)
    mag = (((mant << 3) + G711_BIAS) << seg) - G711_BIAS
    return np.where(c & 0x80, -mag, mag) / 32767.0


def band_mask(n: int, rate: int) -> np.ndarray:
    """The rfft-bin gains of the voice band: 0 outside 300-3400 Hz, raised-cosine ramps inside the edges."""
    f = np.fft.rfftfreq(n, 1.0 / rate)
    lo, hi = TELEPHONE_BAND_HZ
    ramp = TELEPHONE_RAMP_HZ
    up = np.clip((f - lo) / ramp, 0.0, 1.0)
    down = np.clip((hi - f) / ramp, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * up)) * (0.5 - 0.5 * np.cos(np.pi * down))


def voice_band(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` ``(n, ch)`` through the zero-phase voice-band mask, zero-padded so nothing wraps around."""
    pad = int(TELEPHONE_PAD_S * rate)
    n = x.shape[0] + 2 * pad
    nfft = 1 << int(np.ceil(np.log2(n)))
    spec = np.fft.rfft(x, n=nfft, axis=0) * band_mask(nfft, rate)[:, None]
    return np.fft.irfft(spec, n=nfft, axis=0)[: x.shape[0]]


def telephone(audio: Audio, reference: Any, params: Mapping[str, Any],
              rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """8 kHz, 300-3400 Hz, mu-law, back at the input's rate and length."""
    audio = check_audio(audio, "telephone")
    sr = int(audio.sample_rate)
    x = to_float(audio)
    low = voice_band(resample(x, sr, TELEPHONE_RATE), TELEPHONE_RATE)
    bits = int(params.get("bits", 8))
    coded = mu_law_decode(mu_law_encode(low, bits), bits)
    y = fit_length(resample(coded, TELEPHONE_RATE, sr), x.shape[0])
    info = {"band_hz": TELEPHONE_BAND_HZ, "rate": TELEPHONE_RATE, "bits": bits}
    return from_float(y, audio, "telephone", info), reference


def clipping(audio: Audio, reference: Any, params: Mapping[str, Any],
             rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """Hard clip at a fraction of the peak (or an absolute dBFS level); reports the clipped fraction."""
    audio = check_audio(audio, "clipping")
    x = to_float(audio)
    peak = float(np.max(np.abs(x)))
    if params.get("dbfs") is not None:
        level = 10.0 ** (float(params["dbfs"]) / 20.0)
    else:
        level = float(params.get("fraction", 0.5)) * peak
    y = np.clip(x, -level, level)
    frac = float(np.count_nonzero(np.abs(x) > level)) / x.size
    info = {"threshold": level, "clipped_fraction": frac}
    return from_float(y, audio, "clipping", info), reference


def gilbert_elliott(frames: int, rate: float, burst: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean loss mask of ``frames`` frames: stationary loss ``rate``, mean burst ``burst`` frames.

    Transition probabilities: good->lost ``p = rate / (burst (1 - rate))``, lost->good ``q = 1/burst``;
    the first frame is drawn from the stationary distribution.
    """
    if rate <= 0.0:
        return np.zeros(frames, dtype=bool)
    q = 1.0 / burst
    p = min(1.0, rate * q / (1.0 - rate))
    u = rng.random(frames)
    lost = np.empty(frames, dtype=bool)
    state = bool(u[0] < rate)
    lost[0] = state
    for i in range(1, frames):
        state = bool(u[i] >= q) if state else bool(u[i] < p)
        lost[i] = state
    return lost


def packet_loss(audio: Audio, reference: Any, params: Mapping[str, Any],
                rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """Drop ``frame_ms`` frames by a Gilbert-Elliott process; zero-fill or repeat the last good frame."""
    audio = check_audio(audio, "packet_loss")
    rate = float(params.get("rate", 0.1))
    burst = float(params.get("burst", 1.0))
    fill = str(params.get("fill", "zero"))
    frame_ms = float(params.get("frame_ms", 20.0))
    if not 0.0 <= rate < 1.0:
        raise InputError(None, "shift 'packet_loss' parameter 'rate'", "a loss rate in [0, 1)", rate)
    if burst < 1.0:
        raise InputError(None, "shift 'packet_loss' parameter 'burst'", "a mean burst >= 1 frame", burst)
    if fill not in FILL_MODES:
        raise InputError(None, "shift 'packet_loss' parameter 'fill'",
                         f"one of {', '.join(FILL_MODES)}", fill)
    x = to_float(audio)
    frame = max(1, int(round(frame_ms * audio.sample_rate / 1000.0)))
    frames = -(-x.shape[0] // frame)
    lost = gilbert_elliott(frames, rate, burst, rng)
    y = x.copy()
    last: np.ndarray | None = None
    for i in range(frames):
        a, b = i * frame, min((i + 1) * frame, x.shape[0])
        if not lost[i]:
            last = x[a:b]
        elif fill == "repeat" and last is not None:
            y[a:b] = last[: b - a] if last.shape[0] >= b - a else fit_length(last, b - a)
        else:
            y[a:b] = 0.0
    info = {"lost_fraction": float(lost.mean()), "lost_frames": int(lost.sum()), "frames": frames,
            "frame_samples": frame}
    return from_float(y, audio, "packet_loss", info), reference


def gain(audio: Audio, reference: Any, params: Mapping[str, Any],
         rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """Scale by ``db`` decibels; integer outputs saturate (reported in ``clipped``), floats do not."""
    audio = check_audio(audio, "gain")
    db = float(params.get("db", 0.0))
    y = to_float(audio) * 10.0 ** (db / 20.0)
    return from_float(y, audio, "gain", {"db": db}), reference
