"""Additive noise at an exact signal-to-noise ratio: white, pink, brown, babble and recorded noise.

``SNR = 10 log10(P_signal / P_noise)`` with powers as mean squares over all samples and channels
(float scale, before any integer conversion). The noise is scaled so the output ``x + n`` meets the
requested SNR to floating-point precision; nothing is normalised afterwards.

* ``ref=clip`` (default): ``P_signal`` over the whole clip.
* ``ref=speech``: ``P_signal`` over the *active* frames only, found by an energy VAD (20 ms
  non-overlapping frames; a frame is active when its power is within 40 dB of the loudest frame
  and above -70 dBFS); ``P_noise`` is still over the whole clip. Silences then do not lower the
  reference, as in ITU-T P.56's active speech level (a simpler detector than P.56's).

Coloured noises are shaped white Gaussian noise: pink has power spectral density ``1/f``, brown
``1/f**2``, both flat below 20 Hz (no DC, no sub-audio drift). Babble is the sum of ``talkers``
(default 5; the ladder uses 3 to 7) other speech clips from a :class:`NoiseBank`, each looped or
cropped at a seed-chosen offset and brought to equal power before summing; ``file`` noise is one
clip from the bank. A bank is filled by the caller (e.g. the runner, from other samples of the
data set) and registered under a name (the ``bank`` parameter), or read from a directory of audio
files (``noise_dir``), resampled to the input's rate with soxr.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio_io import (
    ShiftedAudio,
    check_audio,
    from_float,
    resample,
    signal_power,
    to_float,
)

NOISE_KINDS: tuple[str, ...] = ("white", "pink", "brown", "babble", "file")
SNR_REFS: tuple[str, ...] = ("clip", "speech")
COLOUR_EXPONENT = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # PSD ~ 1/f**exponent
COLOUR_FLOOR_HZ = 20.0
VAD_FRAME_S = 0.020
VAD_RANGE_DB = 40.0
VAD_FLOOR_DBFS = -70.0
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")


def coloured_noise(n: int, channels: int, sample_rate: int, kind: str,
                   rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise ``(n, channels)`` with PSD ``1/f**a`` (a = 0 white, 1 pink, 2 brown), any scale."""
    white = rng.standard_normal((n, channels))
    a = COLOUR_EXPONENT[kind]
    if a == 0.0:
        return white
    spec = np.fft.rfft(white, axis=0)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    shape = np.maximum(f, COLOUR_FLOOR_HZ) ** (-a / 2.0)
    shape[0] = 0.0  # no DC
    spec *= shape[:, None]
    return np.fft.irfft(spec, n=n, axis=0)


class NoiseBank:
    """Noise clips (mono float, any rates) that ``file`` and ``babble`` noise draw from.

    Clips are kept as given and resampled to a requested rate once (cached per rate; thread-safe).
    Build one from arrays (``NoiseBank([Audio, ...])``), e.g. other utterances of the data set for
    babble, or from a directory (:meth:`from_dir`), and register it by name so the ``bank``
    parameter (a string, which serialises into run documents) can name it.
    """

    def __init__(self, clips: Iterable[Audio], name: str = "") -> None:
        self.name = name
        self._clips: list[tuple[np.ndarray, int]] = []
        for i, clip in enumerate(clips):
            check_audio(clip, f"noise bank {name or '<memory>'} clip {i}")
            mono = to_float(clip).mean(axis=1)
            if signal_power(mono) == 0.0:
                continue  # a silent clip cannot carry noise power
            self._clips.append((mono, int(clip.sample_rate)))
        if not self._clips:
            raise InputError(None, f"noise bank {name or '<memory>'}", "at least one non-silent clip")
        self._by_rate: dict[int, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._clips)

    @classmethod
    def from_dir(cls, path: str | os.PathLike[str]) -> NoiseBank:
        """Every audio file under ``path`` (sorted, recursive), read with soundfile."""
        from gapbench.shifts.audio_io import read_audio

        root = Path(path)
        if not root.is_dir():
            raise InputError(root, None, "a directory of noise audio files")
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
        if not files:
            raise InputError(root, None, f"audio files ({', '.join(AUDIO_EXTENSIONS)})")
        return cls((read_audio(p)[0] for p in files), name=str(root))

    def clips_at(self, sample_rate: int) -> list[np.ndarray]:
        """All clips resampled to ``sample_rate`` (computed once per rate)."""
        with self._lock:
            got = self._by_rate.get(sample_rate)
            if got is None:
                got = [resample(c, sr, sample_rate) for c, sr in self._clips]
                self._by_rate[sample_rate] = got
            return got

    def register(self, name: str) -> NoiseBank:
        """Make this bank available to the ``bank`` parameter under ``name``."""
        with _BANKS_LOCK:
            _BANKS[name] = self
        self.name = self.name or name
        return self


_BANKS: dict[str, NoiseBank] = {}
_BANKS_LOCK = threading.Lock()
_DIR_BANKS: dict[tuple[str, float], NoiseBank] = {}


def noise_bank(name: str) -> NoiseBank:
    """The bank registered under ``name`` (InputError listing the registered names otherwise)."""
    with _BANKS_LOCK:
        bank = _BANKS.get(name)
        names = sorted(_BANKS)
    if bank is None:
        raise InputError(None, "shift 'noise' parameter 'bank'",
                         f"a registered noise bank ({', '.join(names) or 'none registered'})", name)
    return bank


def _dir_bank(path: str) -> NoiseBank:
    root = Path(path)
    key = (str(root.resolve()), root.stat().st_mtime if root.is_dir() else 0.0)
    with _BANKS_LOCK:
        bank = _DIR_BANKS.get(key)
    if bank is None:
        bank = NoiseBank.from_dir(root)
        with _BANKS_LOCK:
            _DIR_BANKS[key] = bank
    return bank


def _crop_loop(clip: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``clip`` from a seed-chosen offset, wrapping around (looping) as needed."""
    start = int(rng.integers(0, clip.shape[0]))
    idx = (start + np.arange(n)) % clip.shape[0]
    return clip[idx]


def bank_noise(bank: NoiseBank, n: int, channels: int, sample_rate: int, talkers: int,
               rng: np.random.Generator) -> np.ndarray:
    """``(n, channels)`` noise: the sum of ``talkers`` bank clips at equal power, same in every channel.

    Clips are drawn without replacement while the bank has enough, then with replacement.
    """
    clips = bank.clips_at(sample_rate)
    replace = talkers > len(clips)
    picks = rng.choice(len(clips), size=talkers, replace=replace)
    out = np.zeros(n)
    for i in picks:
        seg = _crop_loop(clips[int(i)], n, rng)
        p = signal_power(seg)
        if p > 0.0:
            out += seg / np.sqrt(p)
    return np.repeat(out[:, None], channels, axis=1)


def active_power(y: np.ndarray, sample_rate: int) -> float:
    """Mean power over the VAD-active frames (see module doc for the thresholds)."""
    frame = max(1, int(round(VAD_FRAME_S * sample_rate)))
    n = (y.shape[0] // frame) * frame
    if n == 0:
        return signal_power(y)
    frames = np.square(y[:n]).reshape(n // frame, frame * y.shape[1]).mean(axis=1)
    rest = y[n:]
    if rest.shape[0]:
        frames = np.append(frames, np.square(rest).mean())
    peak = frames.max()
    if peak <= 0.0:
        return 0.0
    db = 10.0 * np.log10(np.maximum(frames, 1e-300))
    active = (db >= 10.0 * np.log10(peak) - VAD_RANGE_DB) & (db >= VAD_FLOOR_DBFS)
    if not active.any():
        return 0.0
    return float(frames[active].mean())


def snr_db(clean: np.ndarray, noisy: np.ndarray, sample_rate: int | None = None, ref: str = "clip") -> float:
    """The SNR of ``noisy`` against ``clean`` (float arrays), by the same rule the noise family uses."""
    ps = signal_power(clean) if ref == "clip" else active_power(clean, int(sample_rate or 16000))
    pn = signal_power(noisy - clean)
    return float(10.0 * np.log10(ps / pn))


def _noise_source(params: Mapping[str, Any]) -> NoiseBank:
    bank = params.get("bank")
    if isinstance(bank, NoiseBank):
        return bank
    if bank:
        return noise_bank(str(bank))
    path = params.get("noise_dir")
    if path:
        return _dir_bank(str(path))
    raise InputError(None, "shift 'noise'", "a noise source for babble/file noise: parameter "
                     "'noise_dir' (a directory) or 'bank' (a registered NoiseBank)")


def add_noise(audio: Audio, reference: Any, params: Mapping[str, Any],
              rng: np.random.Generator) -> tuple[ShiftedAudio, Any]:
    """``x + n`` with ``n`` scaled to the requested SNR; the reference is returned unchanged."""
    audio = check_audio(audio, "noise")
    kind = str(params.get("kind", "white"))
    if kind not in NOISE_KINDS:
        raise InputError(None, "shift 'noise' parameter 'kind'", f"one of {', '.join(NOISE_KINDS)}", kind)
    ref = str(params.get("ref", "clip"))
    if ref not in SNR_REFS:
        raise InputError(None, "shift 'noise' parameter 'ref'", f"one of {', '.join(SNR_REFS)}", ref)
    try:
        snr = float(params["snr"])
    except (KeyError, TypeError, ValueError):
        raise InputError(None, "shift 'noise' parameter 'snr'", "a number of dB",
                         params.get("snr")) from None
    if not np.isfinite(snr):
        raise InputError(None, "shift 'noise' parameter 'snr'", "a finite number of dB", snr)
    x = to_float(audio)
    n, ch, sr = x.shape[0], x.shape[1], int(audio.sample_rate)
    ps = signal_power(x) if ref == "clip" else active_power(x, sr)
    if ps <= 0.0:
        raise InputError(None, "shift 'noise' input", "a non-silent clip (SNR is undefined on silence)")
    if kind in COLOUR_EXPONENT:
        noise = coloured_noise(n, ch, sr, kind, rng)
    else:
        talkers = int(params.get("talkers", 5)) if kind == "babble" else 1
        noise = bank_noise(_noise_source(params), n, ch, sr, talkers, rng)
    pn = signal_power(noise)
    if pn <= 0.0:  # a one-sample clip of coloured noise, or a bank clip that crops to silence
        noise = rng.standard_normal((n, ch))
        pn = signal_power(noise)
    noise *= np.sqrt(ps / pn / 10.0 ** (snr / 10.0))
    y = x + noise
    measured = 10.0 * np.log10(ps / signal_power(noise))
    return from_float(y, audio, "noise", {"snr_db": float(measured), "kind": kind, "ref": ref}), reference
