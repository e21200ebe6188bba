"""espeak-ng speech synthesis and IPA, called as a library (ctypes), never one subprocess per word.

The engine comes from the PyPI package ``espeakng-loader`` (it ships ``libespeak-ng.so`` and its
data, so no root install is needed). The interface is deliberately narrow so the shared espeak-ng
module of the speech work can replace it once merged:

* :func:`synthesize` ``(word, voice, rate, pitch) -> (int16 samples, sample_rate)``
* :func:`ipa` ``(word, voice) -> str``

espeak-ng keeps global state (the current voice and parameters), so every call holds one process
lock; a parallel build uses processes, each with its own engine.

Reproducibility: espeak-ng carries static state from one utterance to the next that neither
``espeak_Terminate`` nor a fresh ``espeak_Initialize`` resets (its pitch-flutter phase, among
others): the same word spoken twice in one process can differ by a few samples. The same
*sequence* of calls in a fresh process gives the same bytes, so the builder synthesises fixed
chunks of words, each in a fresh process (:func:`engine_started` tells whether this process has
already used the engine).
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

DEFAULT_VOICE = "en-us"
DEFAULT_RATE = 150  # words per minute: espeak-ng's default is 175; a little slower for isolated words
DEFAULT_PITCH = 50  # espeak-ng's 0..100 scale, its default

_AUDIO_OUTPUT_RETRIEVAL = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_RATE, _PITCH = 1, 3  # espeak_PARAMETER ids

_LOCK = threading.Lock()
_ENGINE: dict[str, Any] = {}
_CALLBACK_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class TTSError(RuntimeError):
    """espeak-ng could not be loaded or refused a voice or a word."""


def _engine() -> dict[str, Any]:
    """Load and initialise libespeak-ng once per process (caller holds ``_LOCK``)."""
    if _ENGINE:
        return _ENGINE
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise TTSError("espeak-ng is not installed: pip install 'gapbench[spectro]' (espeakng-loader)") from exc
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_RETRIEVAL, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise TTSError(f"espeak-ng failed to initialise (code {rate})")
    chunks: list[np.ndarray] = []

    def on_audio(wav: Any, n: int, events: Any) -> int:
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    cb = _CALLBACK_T(on_audio)
    lib.espeak_SetSynthCallback(cb)
    _ENGINE.update(lib=lib, rate=int(rate), chunks=chunks, cb=cb, voice=None)
    return _ENGINE


def _set_voice(eng: dict[str, Any], voice: str) -> None:
    if eng["voice"] != voice:
        if eng["lib"].espeak_SetVoiceByName(voice.encode()) != 0:
            raise TTSError(f"espeak-ng has no voice {voice!r} (e.g. en-us, en-gb, en-029, en-us+f3)")
        eng["voice"] = voice


def synthesize(word: str, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE,
               pitch: int = DEFAULT_PITCH) -> tuple[np.ndarray, int]:
    """``word`` spoken by espeak-ng: ``(int16 mono samples, sample rate)`` (22,050 Hz for espeak-ng).

    Leading and trailing silence is kept as espeak produces it (a few ms), so every clip has the
    same framing. Raises :class:`TTSError` when the engine produced no audio.
    """
    with _LOCK:
        eng = _engine()
        _set_voice(eng, voice)
        lib = eng["lib"]
        lib.espeak_SetParameter(_RATE, int(rate), 0)
        lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        eng["chunks"].clear()
        text = word.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(text)
        err = lib.espeak_Synth(buf, len(text), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        chunks = list(eng["chunks"])
        eng["chunks"].clear()
    if err != 0 or not chunks:
        raise TTSError(f"espeak-ng produced no audio for {word!r} (code {err})")
    return np.concatenate(chunks).astype(np.int16), int(eng["rate"])


def ipa(word: str, voice: str = DEFAULT_VOICE) -> str:
    """espeak-ng's IPA for ``word`` in ``voice`` (stress marks kept, no tie bars)."""
    with _LOCK:
        eng = _engine()
        _set_voice(eng, voice)
        src = ctypes.c_char_p(word.encode("utf-8"))
        parts: list[str] = []
        while src.value:
            out = eng["lib"].espeak_TextToPhonemes(ctypes.byref(src), _CHARS_UTF8, _PHONEMES_IPA)
            if out:
                parts.append(out.decode("utf-8"))
    return " ".join(p.strip() for p in parts if p.strip())


def engine_started() -> bool:
    """Whether this process has initialised espeak-ng (a fork would then inherit its state)."""
    return bool(_ENGINE)


def engine_version() -> str:
    """The espeak-ng library's identity, for build manifests and fingerprints."""
    try:
        from importlib.metadata import version

        return f"espeakng-loader {version('espeakng-loader')}"
    except Exception:  # noqa: BLE001 - metadata is optional
        return "espeak-ng (unknown version)"
