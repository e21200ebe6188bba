"""The one espeak-ng source for everything gapbench synthesises (spoken corpus, spectrogram items).

espeak-ng comes from the pinned PyPI package ``espeakng-loader`` (it ships ``libespeak-ng.so`` and
``espeak-ng-data``; no root, no network) and is called as a library through ``ctypes``, never one
subprocess per utterance: ``espeak_Initialize`` once per process in synchronous mode, a synth
callback that collects the int16 samples, then ``espeak_Synth`` per text.

Reproducibility (why every utterance gets a fresh library instance): espeak-ng carries static
waveform state from one utterance to the next (its pitch-flutter phase among others) that neither
``espeak_Terminate`` nor a new ``espeak_Initialize`` resets, so the same text, voice and seeds
spoken twice in one process can differ by a few samples. Its static state lives in the library's
data segment, so :func:`synthesize` loads a private copy of ``libespeak-ng.so`` (copied once per
process into an anonymous file), initialises it, speaks one utterance and unloads it
(``dlclose``): every utterance starts from the state of a fresh process, and its samples are a
function of (text, voice, seed) alone -- in any process, in any order, alone or in a batch
(tested: the same bytes as a fresh process). Cost: ~2.5 ms per utterance on top of synthesis
(~0.5 ms for a short word at the native rate). :func:`ipa` and the versions use one long-lived
instance (text-to-phoneme output carries no such state).

espeak-ng's globals (and libc's ``rand``, which it uses for breath noise) are shared, so every
call holds one process-wide lock; parallel builds use processes. Output is resampled from
espeak's native rate (22,050 Hz) to the requested rate with soxr (VHQ). Audio is returned exactly
as synthesised: clean, no noise floor, no dither.

A :class:`Voice` is a speaker: an espeak voice name with an optional variant (``en-us+f3``), a
rate in words per minute (espeak's ``-s``, default 175) and a pitch 0-99 (``-p``, default 50).
"""
from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from gapbench.errors import ModelError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_PHONEME_INPUT = 0x100  # espeakPHONEMES: ``[[...]]`` in the text is read as espeak phoneme mnemonics
_PARAM_RATE, _PARAM_PITCH = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_LOCK = threading.Lock()
SYNTHESIS = "fresh-instance-per-utterance"  # how clips are made: part of cached corpora's keys


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: espeak voice (+variant), rate (words/minute) and pitch (0-99)."""

    name: str = "en-us"
    rate: int = 175
    pitch: int = 50

    @property
    def id(self) -> str:
        return f"{self.name}@{self.rate}wpm-p{self.pitch}"

    def to_json(self) -> dict[str, Any]:
        return {"voice": self.name, "rate": self.rate, "pitch": self.pitch}


class _Engine:
    """The process's espeak-ng library handle (initialised once)."""

    def __init__(self, library: str | None = None) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(library or espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path()
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        # the path argument is the directory that *contains* espeak-ng-data
        parent = data.rsplit("/espeak-ng-data", 1)[0]
        self.native_rate = int(lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, parent.encode(), 0))
        if self.native_rate <= 0:
            raise ModelError(f"espeak-ng failed to initialise with data at {data}")
        self._chunks: list[np.ndarray] = []
        self._cb = _CALLBACK(self._collect)  # keep a reference: ctypes does not
        lib.espeak_SetSynthCallback(self._cb)
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        self.version = lib.espeak_Info(None).decode()
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self.libc = ctypes.CDLL(None)

    def close(self) -> None:
        """Terminate and unload the library (its static state goes with it)."""
        import _ctypes

        self.lib.espeak_Terminate()
        _ctypes.dlclose(self.lib._handle)

    def _collect(self, wav: Any, n: int, events: Any) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synth(self, text: str, voice: Voice, seed: int = 0, phonemes: bool = False) -> np.ndarray:
        lib = self.lib
        # espeak-ng's breath noise uses its own generator *and* libc rand(): reseed both per utterance
        # so the output is a function of (text, voice, seed) alone, whatever was synthesised before
        lib.espeak_ng_SetRandSeed(int(seed))
        self.libc.srand(ctypes.c_uint(int(seed) & 0xFFFFFFFF))
        if lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise ModelError(f"espeak-ng has no voice {voice.name!r}")
        lib.espeak_SetParameter(_PARAM_RATE, int(voice.rate), 0)
        lib.espeak_SetParameter(_PARAM_PITCH, int(voice.pitch), 0)
        self._chunks = []
        raw = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(raw)
        flags = _CHARS_UTF8 | (_PHONEME_INPUT if phonemes else 0)
        rc = lib.espeak_Synth(buf, len(raw), 0, 0, 0, flags, None, None)
        if rc != 0:
            raise ModelError(f"espeak-ng could not synthesise {text[:40]!r} (error {rc})")
        lib.espeak_Synchronize()
        out = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        return out.astype(np.int16, copy=False)


@lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


_PRIVATE: list[str] = []  # this process's private copy of the library, as a /proc/self/fd path


def _private_library() -> str:
    """Path of this process's private copy of ``libespeak-ng.so``: a distinct file, so loading it
    never shares state with :func:`_engine`'s instance.

    The copy lives in an anonymous file (``memfd_create``; else a temporary file unlinked at once)
    reached through ``/proc/self/fd/N``: nothing is left on disk however the process ends (forked
    pool workers exit without running ``atexit``), and a forked child inherits the descriptor.
    """
    if not _PRIVATE:
        import espeakng_loader

        data = open(espeakng_loader.get_library_path(), "rb").read()
        try:
            fd = os.memfd_create("gapbench-libespeak-ng", 0)
        except (AttributeError, OSError):  # no memfd (old kernel, other OS): an unlinked temporary file
            import tempfile

            fd, path = tempfile.mkstemp(prefix="gapbench-espeak-", suffix=".so")
            os.unlink(path)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        _PRIVATE.append(f"/proc/self/fd/{fd}")
    return _PRIVATE[0]


def synthesize_pcm(text: str, voice: Voice = Voice(), seed: int = 0, phonemes: bool = False
                   ) -> tuple[np.ndarray, int]:
    """``text`` spoken by ``voice`` as espeak-ng made it: ``(int16 samples, native rate)`` (22,050 Hz).

    ``phonemes``: read ``[[...]]`` in ``text`` as espeak phoneme mnemonics (``[[b'A:]]``), e.g.
    to speak single phones.

    A fresh library instance speaks it (see the module docstring), so the bytes depend on
    ``(text, voice, seed)`` alone. Raises :class:`~gapbench.errors.ModelError` for an unknown voice
    or a refused text.
    """
    with _LOCK:
        eng = _Engine(_private_library())
        try:
            return eng.synth(text, voice, seed, phonemes), eng.native_rate
        finally:
            eng.close()


def espeak_version() -> str:
    """The espeak-ng library version (e.g. ``1.52.0``) and the loader package version."""
    return _engine().version


def generator_versions() -> dict[str, str]:
    """Versions of what synthesises audio: recorded in the run document's dataset info."""
    from importlib.metadata import version

    return {"espeak-ng": espeak_version(), "espeakng-loader": version("espeakng-loader"),
            "soxr": version("soxr"), "synthesis": SYNTHESIS}


def synthesize(text: str, voice: Voice = Voice(), sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """``text`` spoken by ``voice``: float32 mono in [-1, 1] at ``sample_rate`` (clean).

    espeak-ng's random jitter is reseeded with ``seed`` and the utterance is spoken by a fresh
    library instance (:func:`synthesize_pcm`), so the result is bit-reproducible whatever was
    synthesised before.
    """
    import soxr

    pcm, native = synthesize_pcm(text, voice, seed)
    x = pcm.astype(np.float32) / 32768.0
    if sample_rate != native and x.size:
        x = soxr.resample(x, native, sample_rate, quality="VHQ").astype(np.float32)
    return np.clip(x, -1.0, 1.0)


def ipa(text: str, voice: str = "en-us") -> str:
    """espeak-ng's IPA transcription of ``text`` (``espeak_TextToPhonemes``, UTF-8 IPA, clause by clause).

    The same library and voice data as the audio, so the transcription matches what is spoken
    (unlike a dictionary's first pronunciation, e.g. cmudict's caught/hot vowels).
    """
    with _LOCK:
        eng = _engine()
        lib = eng.lib
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ModelError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        parts = []
        while ptr.value:
            out = lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, 0x02)  # bit 1: IPA
            if out:
                parts.append(out.decode("utf-8").strip())
        return " ".join(p for p in parts if p)


def trim_silence(x: np.ndarray, threshold: float = 1e-3, pad: int = 0) -> np.ndarray:
    """Cut leading/trailing samples below ``threshold`` (espeak pads every utterance with silence)."""
    idx = np.flatnonzero(np.abs(x) > threshold)
    if idx.size == 0:
        return x[:0]
    return x[max(0, idx[0] - pad): idx[-1] + 1 + pad]


def synthesize_fresh(jobs: list[tuple[str, Voice, int, int]], description: str = "synthesising",
                     chunk: int = 25) -> tuple[list[np.ndarray], dict[str, str]]:
    """``(text, voice, sample_rate, seed)`` jobs synthesised in order (progress on stderr, every
    ``chunk`` clips); returns the clips and the generator versions.

    Every clip comes from a fresh library instance (:func:`synthesize`), so no worker process is
    needed for reproducibility: a job's clip is the same whatever the list, its order or the
    process. (Earlier versions spoke the whole list in one fresh subprocess for that reason.)
    """
    from gapbench.core.progress import progress

    out: list[np.ndarray] = []
    with progress(len(jobs), description) as advance:
        for i, (text, voice, rate, seed) in enumerate(jobs):
            out.append(synthesize(text, voice, rate, seed))
            if (i + 1) % max(1, chunk) == 0 or i + 1 == len(jobs):
                advance((i % max(1, chunk)) + 1)
    return out, generator_versions()
