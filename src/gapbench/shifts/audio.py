"""The audio shift families, their parameters and 1-5 severity ladders: ``AUDIO_FAMILIES``.

Every family takes :class:`~gapbench.core.media.Audio` and returns
:class:`~gapbench.shifts.audio_io.ShiftedAudio` (an ``Audio`` with a ``report``) in the input's
dtype and channel layout; every family but ``speed`` keeps the length and rate. The reference is
returned unchanged, except by ``speed``, which scales speaker-turn times by ``1/factor``.
Parameters given to a family are checked against its declared :class:`Param` ranges before it
runs (one-line :class:`~gapbench.errors.InputError`); missing ones take the family's default.

Ladders (what each level means is stated once, here):

=====  ===========  =============  =========  =======  =====  =====  ========  ============  ======
level  noise        reverb         telephone  codec    speed  pitch  clipping  packet_loss   gain
=====  ===========  =============  =========  =======  =====  =====  ========  ============  ======
1      white 20 dB  0.3 s, +6 dB   G.711      opus 24  1.05   +1 st  0.50 pk   2%, burst 1   -6 dB
2      white 15 dB  0.5 s, +3 dB   7 bits     opus 16  1.1    +2 st  0.30 pk   5%, burst 1   -12 dB
3      white 10 dB  0.8 s, 0 dB    6 bits     opus 12  1.2    +3 st  0.20 pk   10%, burst 2  -20 dB
4      white 5 dB   1.2 s, -3 dB   5 bits     opus 8   1.35   +4 st  0.10 pk   20%, burst 2  -30 dB
5      white 0 dB   1.8 s, -6 dB   4 bits     opus 6   1.5    +6 st  0.05 pk   30%, burst 3  -40 dB
=====  ===========  =============  =========  =======  =====  =====  ========  ============  ======

(reverb: RT60, DRR; codec: kbps; pitch: semitones; clipping: fraction of the peak; packet loss:
rate and mean burst in 20 ms frames, zero-filled.)

Speed follows Kaldi's recipe in direction of tempo change only above 1 (faster speech is the
harder case); pass ``factor=0.9`` for the slow half of the 0.9/1.1 recipe.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError
from gapbench.shifts.audio_channel import FILL_MODES, clipping, gain, packet_loss, telephone
from gapbench.shifts.audio_codec import CODEC_FORMATS, codec
from gapbench.shifts.audio_io import ShiftedAudio
from gapbench.shifts.audio_noise import NOISE_KINDS, SNR_REFS, NoiseBank, add_noise
from gapbench.shifts.audio_room import reverb
from gapbench.shifts.audio_time import pitch, speed
from gapbench.shifts.base import ApplyFn, Param, ShiftFamily


def _checked(name: str, fn: ApplyFn, params: tuple[Param, ...]) -> ApplyFn:
    """``fn`` with every given parameter checked against its declaration first."""
    declared = {p.name: p for p in params}

    def run(audio: Any, reference: Any, given: Mapping[str, Any],
            rng: np.random.Generator) -> tuple[Any, Any]:
        clean: dict[str, Any] = {}
        for key, value in given.items():
            if key == "bank" and isinstance(value, NoiseBank):
                clean[key] = value  # an in-memory bank passed by a library caller
            elif value is None and key in ("dbfs", "noise_dir", "bank"):
                continue  # optional parameters left unset
            elif key in declared:
                clean[key] = declared[key].check(value, name)
            else:
                names = ", ".join(declared) or "none"
                raise InputError(None, f"shift {name!r} parameter {key!r}",
                                 f"a parameter of {name!r} ({names})")
        return fn(audio, reference, clean, rng)

    run.__name__ = getattr(fn, "__name__", name)
    run.__doc__ = fn.__doc__
    return run


def _family(name: str, description: str, fn: ApplyFn, params: tuple[Param, ...],
            ladder: dict[int, dict[str, Any]]) -> ShiftFamily:
    return ShiftFamily(name=name, modality="audio", description=description, fn=_checked(name, fn, params),
                       params=params, ladder=ladder)


NOISE_PARAMS = (
    Param("snr", "signal-to-noise ratio in dB (signal power per 'ref' / noise power)", float, -40.0, 100.0),
    Param("kind", "noise colour or source", str, choices=NOISE_KINDS),
    Param("ref", "signal power over the whole clip or the VAD-active frames", str, choices=SNR_REFS),
    Param("talkers", "babble: number of clips summed", int, 1, 32),
    Param("noise_dir", "babble/file: directory of noise audio files", str),
    Param("bank", "babble/file: name of a registered NoiseBank", str),
)
REVERB_PARAMS = (
    Param("rt60", "reverberation time in seconds (60 dB decay)", float, 0.05, 5.0),
    Param("drr", "direct-to-reverberant energy ratio in dB", float, -20.0, 30.0),
)
TELEPHONE_PARAMS = (Param("bits", "G.711 code bits (8 = the standard; fewer = coarser mantissa)", int, 4, 8),)
CODEC_PARAMS = (
    Param("format", "codec", str, choices=CODEC_FORMATS),
    Param("bitrate", "constant bit rate in kbps", float, 6.0, 320.0),
)
SPEED_PARAMS = (Param("factor", "speed factor: > 1 faster and higher (length n / factor)", float, 0.5, 2.0),)
PITCH_PARAMS = (Param("semitones", "pitch shift in semitones (duration kept)", float, -12.0, 12.0),)
CLIPPING_PARAMS = (
    Param("fraction", "clip level as a fraction of the clip's peak", float, 0.001, 1.0),
    Param("dbfs", "clip level in dBFS (overrides fraction when given)", float, -60.0, 0.0),
)
PACKET_LOSS_PARAMS = (
    Param("rate", "stationary frame loss probability", float, 0.0, 0.9),
    Param("burst", "mean loss burst length in frames (1 = independent losses)", float, 1.0, 50.0),
    Param("frame_ms", "frame (packet) duration in milliseconds", float, 2.5, 200.0),
    Param("fill", "lost frames: zeros or the last received frame repeated", str, choices=FILL_MODES),
)
GAIN_PARAMS = (Param("db", "gain in dB", float, -80.0, 40.0),)



def _ladder(**columns: Any) -> dict[int, dict[str, Any]]:
    """Levels 1-5 from one tuple of five values per parameter (a constant when not a tuple)."""
    return {lv: {k: (v[lv - 1] if isinstance(v, tuple) else v) for k, v in columns.items()}
            for lv in range(1, 6)}


AUDIO_FAMILIES: dict[str, ShiftFamily] = {f.name: f for f in (
    _family("noise", "additive noise at an exact SNR (white, pink, brown, babble, recorded)", add_noise,
            NOISE_PARAMS, _ladder(kind="white", snr=(20.0, 15.0, 10.0, 5.0, 0.0))),
    _family("reverb", "synthetic room impulse response (exponential-decay noise) by RT60 and DRR", reverb,
            REVERB_PARAMS, _ladder(rt60=(0.3, 0.5, 0.8, 1.2, 1.8), drr=(6.0, 3.0, 0.0, -3.0, -6.0))),
    _family("telephone", "8 kHz narrowband call: 300-3400 Hz band-pass and G.711 mu-law", telephone,
            TELEPHONE_PARAMS, _ladder(bits=(8, 7, 6, 5, 4))),
    _family("codec", "low-bitrate Opus or MP3 encode/decode (PyAV)", codec,
            CODEC_PARAMS, _ladder(format="opus", bitrate=(24.0, 16.0, 12.0, 8.0, 6.0))),
    _family("speed", "speed perturbation by resampling (pitch and tempo together, as sox speed)", speed,
            SPEED_PARAMS, _ladder(factor=(1.05, 1.1, 1.2, 1.35, 1.5))),
    _family("pitch", "pitch shift in semitones, duration kept (phase vocoder + resampling)", pitch,
            PITCH_PARAMS, _ladder(semitones=(1.0, 2.0, 3.0, 4.0, 6.0))),
    _family("clipping", "hard clipping at a fraction of the peak or a dBFS level", clipping,
            CLIPPING_PARAMS, _ladder(fraction=(0.5, 0.3, 0.2, 0.1, 0.05))),
    _family("packet_loss", "dropped frames (Gilbert-Elliott losses), zero-filled or repeated", packet_loss,
            PACKET_LOSS_PARAMS, _ladder(rate=(0.02, 0.05, 0.1, 0.2, 0.3), burst=(1.0, 1.0, 2.0, 2.0, 3.0),
                                        frame_ms=20.0, fill="zero")),
    _family("gain", "level change in dB (integer outputs saturate, reported)", gain,
            GAIN_PARAMS, _ladder(db=(-6.0, -12.0, -20.0, -30.0, -40.0))),
)}


def audio_family(name: str) -> ShiftFamily:
    """The family called ``name`` (InputError with the valid names otherwise)."""
    fam = AUDIO_FAMILIES.get(name)
    if fam is None:
        import difflib

        hint = difflib.get_close_matches(name, list(AUDIO_FAMILIES), n=1)
        exp = f"an audio shift ({', '.join(AUDIO_FAMILIES)})"
        exp += f"; did you mean {hint[0]!r}?" if hint else ""
        raise InputError(None, "shift", exp, name)
    return fam


def apply_audio(audio: Audio, family: str, severity: int | None = None, seed: int = 0,
                reference: Any = None, **params: Any) -> tuple[ShiftedAudio, Any]:
    """Apply ``family`` at ``severity`` (ladder) with ``params`` overriding it; (audio, reference)."""
    fam = audio_family(family)
    bank = params.pop("bank", None) if isinstance(params.get("bank"), NoiseBank) else None
    p = fam.params_for(severity, **params)
    if bank is not None:
        p["bank"] = bank
    return fam.apply(audio, reference, p, seed)
