"""Offline baselines for the spectrogram-reading task, as model adapters (``baseline:NAME``).

* ``baseline:chance`` -- a uniformly random option, seeded by the item (deterministic).
* ``baseline:blind`` -- never looks at the image or the audio: picks the option with the smallest
  total PED to the other options (first on ties). It audits the distractor bias: on the
  ``paper`` design, where the spoken word is the centre its distractors were drawn around, it
  scores far above chance; on the ``debiased`` design it should sit near 25%.
* ``baseline:asr`` -- the paper's "an ASR system reads it" row: pocketsphinx listens to the clip
  with a JSGF grammar of the item's four option words, after 0.25 s of padding at each end and a
  noise floor of int16 sigma 100 (espeak's short digital silence otherwise costs a third of its
  accuracy: measured 62% -> 87% on 300 items; OFFLINE.md). One decoder; a grammar
  per item is added, activated and removed (never a decoder per item); each clip is decoded once
  and the answer reused across conditions (keyed by audio path and option words).

* ``baseline:image`` -- reads only the spectrogram pixels (:mod:`gapbench.spectro.image_baseline`).

Each answers with the letter of its choice (text), so it goes through the same extraction step
as any VLM; the ASR baseline answers ``""`` (unparseable, counted wrong) when it hears nothing.

The pocketsphinx calls sit behind :func:`recognize_choice`, the narrow interface to replace by
the shared pocketsphinx adapter once the speech work lands.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapbench.core.sample import content_hash
from gapbench.models.base import ModelAdapter
from gapbench.spectro.distractors import centrality_pick, unit_hash

NOISE_FLOOR = 100.0  # int16 standard deviation of the added noise
PAD_S = 0.25  # seconds of silence (then noise) added at each end: 62% -> 87% on 300 items, no answer 13% -> 0%
ASR_RATE = 16000


class _Decoder:
    """One pocketsphinx decoder (no language model) whose grammar changes per item."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.dec = Decoder(samprate=ASR_RATE, lm=None, logfn=os.devnull)
        self.lock = threading.Lock()
        self.n = 0
        self.previous: str | None = None

    def ensure_word(self, word: str) -> bool:
        if self.dec.lookup_word(word):
            return True
        from gapbench.spectro.phonemes import cmu_dict

        prons = cmu_dict().get(word)
        if not prons:
            return False
        self.dec.add_word(word, " ".join(p.rstrip("012") for p in prons[0]), True)
        return True


_DECODER: _Decoder | None = None
_DECODER_LOCK = threading.Lock()
_HEARD: dict[str, int | None] = {}


def _decoder() -> _Decoder:
    global _DECODER
    with _DECODER_LOCK:
        if _DECODER is None:
            _DECODER = _Decoder()
        return _DECODER


def to_asr_audio(samples: np.ndarray, rate: int, seed: int = 0) -> np.ndarray:
    """int16 at 16 kHz with the noise floor added (deterministic for a given clip and seed)."""
    import soxr  # imports in ms; scipy.signal took 2-3 s here

    pad = np.zeros(int(PAD_S * rate))
    x = np.concatenate([pad, np.asarray(samples, dtype=np.float64), pad])
    if rate != ASR_RATE:
        x = soxr.resample(x, int(rate), ASR_RATE, quality="HQ")
    rng = np.random.default_rng([seed, len(x)])
    x = x + rng.normal(0.0, NOISE_FLOOR, len(x))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def recognize_choice(samples: np.ndarray, rate: int, options: Sequence[str]) -> int | None:
    """Index of the option pocketsphinx hears in the clip (grammar = the options), or None."""
    d = _decoder()
    audio = to_asr_audio(samples, rate)
    with d.lock:
        words = [w for w in dict.fromkeys(o.lower() for o in options) if d.ensure_word(w)]
        if not words:
            return None
        name = f"item{d.n}"
        d.n += 1
        # one rule per word: a bare word that is a JSGF keyword (public, private, import) is fine there
        rules = "".join(f"<o{i}> = {w};\n" for i, w in enumerate(words))
        alts = " | ".join(f"<o{i}>" for i in range(len(words)))
        d.dec.add_jsgf_string(name, f"#JSGF V1.0;\ngrammar g;\npublic <w> = {alts};\n{rules}")
        d.dec.activate_search(name)
        if d.previous is not None:  # the decoder needs an active search: drop the last item's grammar now
            d.dec.remove_search(d.previous)
        d.previous = name
        d.dec.start_utt()
        d.dec.process_raw(audio.tobytes(), full_utt=True)
        d.dec.end_utt()
        hyp = d.dec.hyp()
    heard = hyp.hypstr.strip().lower() if hyp is not None else ""
    low = [o.lower() for o in options]
    return low.index(heard) if heard in low else None


class BaselineModel(ModelAdapter):
    """Base for the offline baselines: they read a SpectroMessage's extras, answer a letter."""

    task_types = ("spectrogram-mcq",)
    kind = "baseline"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.name = f"baseline:{self.kind}"

    def fingerprint(self) -> str:
        from gapbench.spectro import baselines as mod

        src = open(mod.__file__, "rb").read() if mod.__file__ else b""
        return content_hash({"adapter": self.name, "seed": self.seed, "code": content_hash(src)})

    def settings(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def predict(self, batch: list[Any]) -> list[str]:
        return [self.answer(m) for m in batch]

    def answer(self, message: Any) -> str:
        raise NotImplementedError

    @staticmethod
    def _extras(message: Any) -> tuple[tuple[str, ...], str]:
        options = getattr(message, "options", ())
        if not options:
            from gapbench.errors import InputError

            raise InputError(None, "baseline input", "a SpectroMessage carrying its options (a spectro build item)",
                             type(message).__name__)
        return tuple(options), getattr(message, "labels", "ABCD")


class ChanceBaseline(BaselineModel):
    kind = "chance"

    def answer(self, message: Any) -> str:
        options, labels = self._extras(message)
        return labels[int(unit_hash("chance", self.seed, message.text, options) * len(options))]


class BlindBaseline(BaselineModel):
    kind = "blind"

    def answer(self, message: Any) -> str:
        options, labels = self._extras(message)
        segs = getattr(message, "segments", ())
        if not segs:
            from gapbench.spectro.phonemes import segments

            segs = tuple(segments(o) or tuple(o) for o in options)
        return labels[centrality_pick(segs)]


class ASRBaseline(BaselineModel):
    kind = "asr"

    def answer(self, message: Any) -> str:
        from gapbench.spectro.build import read_wav

        options, labels = self._extras(message)
        samples, rate = read_wav(message.audio)
        key = content_hash([samples, rate, sorted(options)])
        if key not in _HEARD:  # decoded once per clip and option set, reused across conditions
            _HEARD[key] = recognize_choice(samples, rate, sorted(options))
        idx = _HEARD[key]
        return "" if idx is None else labels[options.index(sorted(options)[idx])]


BASELINES: dict[str, str] = {  # name -> "module:class" (imported when used)
    "chance": "gapbench.spectro.baselines:ChanceBaseline",
    "blind": "gapbench.spectro.baselines:BlindBaseline",
    "asr": "gapbench.spectro.baselines:ASRBaseline",
    "image": "gapbench.spectro.image_baseline:ImageReadingBaseline",
}


def load_baseline(name: str) -> BaselineModel:
    """Registry factory for the ``baseline:`` scheme (``baseline:asr|blind|chance|image``)."""
    from gapbench.core.registry import UnknownNameError, import_target

    if name not in BASELINES:
        raise UnknownNameError(f"unknown baseline {name!r}: expected one of {', '.join(BASELINES)}")
    return import_target(BASELINES[name])()
