"""``pocketsphinx``: the embedded offline ASR model (CMU PocketSphinx 5, US-English model in the wheel).

Modes:

* full language model (``en-us.lm.bin`` + ``cmudict-en-us.dict``): ``builtin:pocketsphinx``;
* JSGF grammar restricted to a vocabulary: ``builtin:pocketsphinx-digits`` (a loop over the
  TIDIGITS words, for ``asr-digits``) and ``builtin:pocketsphinx-words`` (exactly one word of the
  embedded ``asr-words`` vocabulary). ``PocketSphinxASR(vocabulary=[...], loop=...)`` builds any
  other grammar; words missing from the pronunciation dictionary are dropped and counted in
  ``settings()["oov_dropped"]``. JSGF keywords (``public``, ``grammar``, ``import``) get a rule each
  (:func:`jsgf_grammar`).

Noise floor (why it is here): PocketSphinx decodes perfectly silent stretches badly (its
cepstral mean normalisation and VAD are tuned on recordings that always carry some noise), and the
embedded corpus is stored clean. So this adapter's own ``preprocess`` adds white Gaussian noise of
standard deviation ``floor`` (default 100 int16 LSB, about -50 dBFS; fixed seed 0 so it is
deterministic) before converting to 16-bit PCM. Other models and the SNR arithmetic of the noise
shift see the clean audio. ``floor=0`` turns it off. Measured with ``benchmarks/speech_floor.py``
on the embedded corpora (WER with floor / without): digits grammar 0.309 / 0.342, words grammar
0.700 / 0.717, digits full LM 0.855 / 0.914; on seven clean en-us digit clips the grammar mode is
exact with the floor and misreads two without it (``tests/models/test_pocketsphinx.py``).

Grammar switching: ``recognize_one_of(pcm, words)`` decodes one clip against a JSGF grammar of
exactly one of ``words`` (a closed-set choice, e.g. the four options of a spectro item): the
grammar is added to this adapter's one decoder, activated, and removed after the clip, with the
adapter's own search re-activated -- never a decoder per call (initialising one takes ~0.3 s).

Streaming: ``stream(audio, chunk_s=0.1)`` feeds the decoder 100 ms at a time and yields a
:class:`StreamEvent` per chunk with the partial hypothesis and the seconds since the call began,
the last one ``final=True``; ``time_to_first_result(audio)`` is the wall time until the first
non-empty partial.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.core.sample import content_hash
from gapbench.errors import InputError, ModelError
from gapbench.models.base import ModelAdapter

SAMPLE_RATE = 16000
DEFAULT_FLOOR = 100.0  # int16 LSB (OFFLINE.md: single words 33% -> 68% -> 100% only with a floor)
_JSGF_KEYWORDS = {"public", "grammar", "import"}


@dataclass(frozen=True)
class StreamEvent:
    """One streaming step: seconds since the stream began, audio seconds fed, the partial text."""

    elapsed: float
    audio_seconds: float
    text: str
    final: bool = False


def to_pcm16(audio: Audio, floor: float = DEFAULT_FLOOR, seed: int = 0, pad_s: float = 0.0) -> np.ndarray:
    """Mono 16 kHz int16 samples, with a white noise floor of ``floor`` LSB (0 = none).

    Multi-channel audio is averaged to mono; other rates are resampled with soxr (HQ); integer
    PCM is scaled to [-1, 1] by its dtype's full scale first. ``pad_s`` seconds of silence are
    added at each end before the noise (so the padding carries the floor too): isolated TTS words
    with only a few ms of lead-in decode far worse (spectro's grammar-of-four ASR baseline: 62% ->
    87% on 300 items with 0.25 s).
    """
    if not isinstance(audio, Audio):
        raise InputError(None, "pocketsphinx input", "gapbench Audio", type(audio).__name__)
    if np.asarray(audio.samples).size == 0:
        raise InputError(None, "pocketsphinx input", "a non-empty clip", "0 samples")
    y = audio.mono(SAMPLE_RATE) * 32767.0
    if pad_s > 0:
        pad = np.zeros(int(round(pad_s * SAMPLE_RATE)))
        y = np.concatenate([pad, y, pad])
    if floor > 0:
        y = y + np.random.default_rng(seed).normal(0.0, floor, size=y.shape)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def jsgf_grammar(words: Sequence[str], loop: bool) -> str:
    """A JSGF grammar of one of ``words`` (a loop of them when ``loop``).

    A word that is a JSGF keyword (``public``, ``grammar``, ``import``) is written as a rule of its
    own: pocketsphinx 5's parser rejects quoted tokens (``"public"``), which an earlier version used.
    """
    alts, rules = [], []
    for w in words:
        if w in _JSGF_KEYWORDS:
            alts.append(f"<k{len(rules)}>")
            rules.append(f"<k{len(rules)}> = {w};\n")
        else:
            alts.append(w)
    return (f"#JSGF V1.0;\ngrammar task;\npublic <utt> = ( {' | '.join(alts)} ){'+' if loop else ''};\n"
            + "".join(rules))


class PocketSphinxASR(ModelAdapter):
    """CMU PocketSphinx decoder, full LM or a JSGF grammar over ``vocabulary``."""

    task_types = ("asr",)

    def __init__(self, vocabulary: Sequence[str] | None = None, loop: bool = True, floor: float = DEFAULT_FLOOR,
                 name: str = "builtin:pocketsphinx") -> None:
        from pocketsphinx import Decoder

        self.name = name
        self.floor = float(floor)
        self._lock = threading.Lock()
        try:
            self._decoder = Decoder(loglevel="FATAL")
        except Exception as exc:  # noqa: BLE001 - the C library's errors are RuntimeError or ValueError
            raise ModelError(f"pocketsphinx: could not load its model: {exc}") from None
        self.mode = "lm"
        self._n_choice = 0
        self.grammar = ""
        self.oov_dropped = 0
        if vocabulary is not None:
            words = sorted({w.lower() for w in vocabulary})
            known = [w for w in words if self._decoder.lookup_word(w) is not None]
            self.oov_dropped = len(words) - len(known)
            if not known:
                raise InputError(None, "pocketsphinx vocabulary", "words in its pronunciation dictionary", words[:5])
            self.grammar = jsgf_grammar(known, loop)
            self._decoder.add_jsgf_string("task", self.grammar)
            self._decoder.activate_search("task")
            self.mode = "jsgf"
        import pocketsphinx

        # hashed once: the pipeline asks for settings() to key its cache, every run
        self._grammar_hash = content_hash(self.grammar)[:12] if self.grammar else None
        self._fingerprint = content_hash({"adapter": "pocketsphinx", "version": _version(),
                                          "model": pocketsphinx.get_model_path(), **self.settings()})

    def settings(self) -> dict[str, Any]:
        return {"mode": self.mode, "grammar": self._grammar_hash,
                "floor": self.floor, "oov_dropped": self.oov_dropped}

    def fingerprint(self) -> str:
        return self._fingerprint

    def preprocess(self, input: Any) -> np.ndarray:  # noqa: A002
        return to_pcm16(input, self.floor)

    def _decode(self, pcm: np.ndarray) -> str:
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm.tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""

    def predict(self, batch: list[Any]) -> list[str]:
        with self._lock:  # one decoder: its search state is not thread-safe
            return [self._decode(pcm) for pcm in batch]

    def recognize_one_of(self, pcm: np.ndarray, words: Sequence[str],
                         lexicon: Mapping[str, str] | None = None) -> str | None:
        """The one of ``words`` heard in ``pcm`` (int16, 16 kHz: :func:`to_pcm16`), or None.

        A JSGF grammar of exactly one of the words is switched in on this adapter's decoder for
        this clip only (see the module docstring). A word missing from the decoder's pronunciation
        dictionary is added from ``lexicon`` (word -> ARPAbet phones without stress, e.g.
        ``"W AO T ER"``) when given, else left out; None when no word is pronounceable or nothing
        is heard. JSGF keywords such as ``public`` are fine (:func:`jsgf_grammar`).
        """
        with self._lock:
            d = self._decoder
            known = []
            for w in dict.fromkeys(x.lower() for x in words):
                if d.lookup_word(w) is None:
                    phones = (lexicon or {}).get(w)
                    if not phones:
                        continue
                    # update=False: rebuilding the active search (the full LM's) takes ~1 s; the
                    # grammar added below is compiled against the dictionary as it is then
                    d.add_word(w, phones, False)
                known.append(w)
            if not known:
                return None
            own = d.current_search()
            self._n_choice += 1
            name = f"choice{self._n_choice}"
            d.add_jsgf_string(name, jsgf_grammar(known, loop=False))
            d.activate_search(name)
            try:
                heard = self._decode(pcm).strip().lower()
            finally:
                d.activate_search(own)
                d.remove_search(name)
        return heard if heard in known else None

    def stream(self, input: Any, chunk_s: float = 0.1) -> Iterator[StreamEvent]:  # noqa: A002
        """Partial hypotheses as audio arrives in ``chunk_s`` pieces (the decoder is held meanwhile)."""
        return self._stream_pcm(self.preprocess(input), chunk_s)

    def predict_stream(self, batch: list[Any], chunk_s: float = 0.1) -> Iterator[list[str]]:
        """The streaming hook of ``gapbench latency`` (time to first result): ``batch`` is preprocessed
        PCM, fed ``chunk_s`` at a time; yields the texts so far (one per input, "" where nothing is
        heard yet) each time a partial hypothesis changes, and last the streamed decode's final texts."""
        texts = [""] * len(batch)
        for j, pcm in enumerate(batch):
            for ev in self._stream_pcm(pcm, chunk_s):
                if ev.final or (ev.text and ev.text != texts[j]):
                    texts[j] = ev.text
                    if not ev.final:
                        yield list(texts)
        yield texts

    def _stream_pcm(self, pcm: np.ndarray, chunk_s: float) -> Iterator[StreamEvent]:
        step = max(1, int(chunk_s * SAMPLE_RATE))
        with self._lock:
            t0 = time.perf_counter()
            d = self._decoder
            d.start_utt()
            try:
                for i in range(0, pcm.size, step):
                    d.process_raw(pcm[i:i + step].tobytes(), full_utt=False)
                    hyp = d.hyp()
                    fed = min(pcm.size, i + step) / SAMPLE_RATE
                    yield StreamEvent(time.perf_counter() - t0, fed, hyp.hypstr if hyp is not None else "")
            finally:
                d.end_utt()
            hyp = d.hyp()
            yield StreamEvent(time.perf_counter() - t0, pcm.size / SAMPLE_RATE,
                              hyp.hypstr if hyp is not None else "", final=True)

    def time_to_first_result(self, input: Any, chunk_s: float = 0.1) -> float | None:  # noqa: A002
        """Wall seconds until the first non-empty partial hypothesis (None if it never has one)."""
        for ev in self.stream(input, chunk_s):
            if ev.text:
                return ev.elapsed
        return None


def _version() -> str:
    from importlib.metadata import version

    return version("pocketsphinx")


def pocketsphinx_lm() -> PocketSphinxASR:
    """``builtin:pocketsphinx``: full US-English language model."""
    return PocketSphinxASR()


def pocketsphinx_digits() -> PocketSphinxASR:
    """``builtin:pocketsphinx-digits``: JSGF loop over the TIDIGITS words (``asr-digits``)."""
    from gapbench.speech.corpus import DIGIT_WORDS

    return PocketSphinxASR(DIGIT_WORDS, loop=True, name="builtin:pocketsphinx-digits")


def pocketsphinx_words() -> PocketSphinxASR:
    """``builtin:pocketsphinx-words``: one word of the embedded ``asr-words`` vocabulary (JSGF)."""
    from gapbench.speech.corpus import DEFAULT_SIZES, frequent_words

    return PocketSphinxASR(frequent_words(DEFAULT_SIZES["asr-words"]), loop=False, name="builtin:pocketsphinx-words")
