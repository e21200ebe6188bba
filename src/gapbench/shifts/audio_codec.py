"""Lossy codecs: Opus (libopus in Ogg) and MP3 (LAME), encoded and decoded in memory with PyAV.

Both run at a constant bit rate (Opus ``vbr=off``, LAME CBR), so the requested bit rate is what
the stream carries: the report gives ``bitrate_kbps`` (encoded packet bytes * 8 / duration, the
codec's rate) and ``file_kbps`` (the whole file, adding the container's framing: Ogg pages cost
about 0.75 kbps at 20 ms packets, MP3 about 0.2 kbps). Encoder settings are the libraries'
defaults otherwise (Opus complexity 10, 20 ms frames; LAME's default quality).

The input is resampled (soxr) to the smallest rate the codec takes that is at least the input's
(Opus: 8/12/16/24/48 kHz; MP3: 8 to 48 kHz, MPEG-1/2/2.5 rates) and the decoded output back to
the input's rate, length, layout (mono or stereo; more channels are refused) and dtype. Codec
delay: the decoders remove it (Ogg Opus pre-skip; LAME's gapless header for MP3); the output is
then checked against the input by cross-correlation within +-20 ms and shifted by the lag found
(reported as ``delay_samples``, 0 when the decoder was exact), then cropped or zero-padded.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio_io import ShiftedAudio, check_audio, fit_length, from_float, resample, to_float

CODEC_FORMATS: tuple[str, ...] = ("opus", "mp3")
_CODEC = {"opus": ("ogg", "libopus"), "mp3": ("mp3", "libmp3lame")}
_RATES = {"opus": (8000, 12000, 16000, 24000, 48000),
          "mp3": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)}
ALIGN_WINDOW_S = 0.020


def codec_rate(fmt: str, sample_rate: int) -> int:
    """The rate the codec encodes an input of ``sample_rate`` at (smallest supported >= input)."""
    rates = _RATES[fmt]
    return next((r for r in rates if r >= sample_rate), rates[-1])


def encode(x: np.ndarray, sample_rate: int, fmt: str, bitrate_kbps: float) -> tuple[bytes, int]:
    """``x`` (float ``(n, channels)``, 1-2 channels, at a codec rate) encoded; (file bytes, packet bytes)."""
    import av

    container, codec = _CODEC[fmt]
    layout = "mono" if x.shape[1] == 1 else "stereo"
    buf = io.BytesIO()
    payload = 0
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=sample_rate, layout=layout)
        stream.bit_rate = int(round(bitrate_kbps * 1000))
        if fmt == "opus":
            stream.codec_context.options = {"vbr": "off"}
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T, dtype=np.float32), format="fltp",
                                           layout=layout)
        frame.sample_rate = sample_rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            payload += packet.size
            out.mux(packet)
    return buf.getvalue(), payload


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Encoded bytes to float ``(n, channels)`` and the decoder's output rate."""
    import av

    with av.open(io.BytesIO(data)) as src:
        stream = src.streams.audio[0]
        chunks = []
        for frame in src.decode(stream):
            a = frame.to_ndarray()
            if not frame.format.is_planar:  # interleaved (1, n * ch) -> (ch, n)
                a = a.reshape(-1, frame.layout.nb_channels).T
            chunks.append(a.astype(np.float64))
        rate = int(stream.rate)
    if not chunks:
        return np.zeros((0, 1)), rate
    return np.concatenate(chunks, axis=1).T, rate


def align_lag(ref: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """The lag in [-max_lag, max_lag] maximising the cross-correlation of ``y`` against ``ref`` (1-D).

    A positive lag means ``y`` is late: ``y[lag:]`` lines up with ``ref``.
    """
    from scipy.signal import correlate

    n = min(ref.shape[0], y.shape[0])
    if n <= 2 * max_lag or max_lag == 0:
        return 0
    c = correlate(y[:n], ref[:n], mode="full", method="fft")
    mid = n - 1
    window = c[mid - max_lag: mid + max_lag + 1]
    return int(np.argmax(window)) - max_lag


def codec(audio: Audio, reference: Any, params: Mapping[str, Any],
          rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """Encode and decode at ``bitrate`` kbps in ``format``; same rate, length, layout and dtype out."""
    audio = check_audio(audio, "codec")
    fmt = str(params.get("format", "opus"))
    if fmt not in CODEC_FORMATS:
        raise InputError(None, "shift 'codec' parameter 'format'", f"one of {', '.join(CODEC_FORMATS)}", fmt)
    if audio.channels > 2:
        raise InputError(None, "shift 'codec' input", "mono or stereo audio", f"{audio.channels} channels")
    bitrate = float(params.get("bitrate", 16.0))
    sr = int(audio.sample_rate)
    x = to_float(audio)
    rate = codec_rate(fmt, sr)
    xin = resample(x, sr, rate)
    try:
        data, payload = encode(xin, rate, fmt, bitrate)
    except Exception as exc:  # PyAV raises its own errors for settings the encoder refuses
        raise InputError(None, f"shift 'codec' {fmt} at {bitrate} kbps", "settings the encoder accepts",
                         str(exc).splitlines()[0]) from None
    y, out_rate = decode(data)
    y = resample(y, out_rate, sr) if y.shape[0] else np.zeros_like(x)
    if y.shape[1] != x.shape[1]:
        y = np.repeat(y.mean(axis=1, keepdims=True), x.shape[1], axis=1)
    lag = align_lag(x.mean(axis=1), y.mean(axis=1), int(round(ALIGN_WINDOW_S * sr)))
    if lag > 0:
        y = y[lag:]
    elif lag < 0:
        y = np.concatenate([np.zeros((-lag, y.shape[1])), y], axis=0)
    y = fit_length(y, x.shape[0])
    duration = x.shape[0] / sr
    info = {"format": fmt, "codec_rate": rate, "bitrate_kbps": payload * 8 / duration / 1000.0,
            "file_kbps": len(data) * 8 / duration / 1000.0, "delay_samples": lag}
    return from_float(y, audio, "codec", info), reference
