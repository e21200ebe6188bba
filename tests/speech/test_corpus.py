"""The embedded spoken corpus: plans, determinism, the cache and its content key, exact meetings."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.speech import corpus


def test_digits_corpus_samples_and_meta(speech_cache):
    ds = corpus.load_corpus("asr-digits", n=6, seed=3)
    assert len(ds) == 6 and ds.name == "asr-digits"
    assert set(ds.generator) >= {"espeak-ng", "espeakng-loader", "corpus_version", "corpus_key"}
    voices = {v.name for v in corpus.SPEAKERS}
    for s in ds:
        assert isinstance(s.input, Audio) and s.input.sample_rate == 16000
        words = s.reference.split()
        assert 1 <= len(words) <= 7 and set(words) <= set(corpus.DIGIT_WORDS)
        assert s.meta["voice"] in voices and s.meta["speaker"].startswith("spk")
        assert s.meta["duration"] == pytest.approx(s.input.duration)
        assert {"rate", "pitch", "text"} <= set(s.meta)
    assert len(list(speech_cache.glob("speech-corpus/asr-digits-n6-s3-*.npz"))) == 1


def test_cache_is_used_and_a_rebuild_is_identical(monkeypatch):
    first = corpus.load_corpus("asr-digits", n=4, seed=1)
    rebuilt = corpus.load_corpus("asr-digits", n=4, seed=1, rebuild=True)
    assert [s.reference for s in first] == [s.reference for s in rebuilt]
    assert all(np.array_equal(a.input.samples, b.input.samples) for a, b in zip(first, rebuilt))

    def boom(*a, **k):
        raise AssertionError("synthesised although cached")

    monkeypatch.setattr(corpus, "synthesize_fresh", boom)
    again = corpus.load_corpus("asr-digits", n=4, seed=1)
    assert [s.key for s in again] == [s.key for s in first]
    with pytest.raises(AssertionError, match="synthesised"):
        corpus.load_corpus("asr-digits", n=4, seed=2)  # another seed is another corpus


def test_content_key_follows_the_generator(monkeypatch):
    key = corpus.corpus_key("asr-digits", 4, 0)
    assert corpus.corpus_key("asr-digits", 4, 0) == key
    monkeypatch.setattr(corpus, "CORPUS_VERSION", corpus.CORPUS_VERSION + 1)
    assert corpus.corpus_key("asr-digits", 4, 0) != key
    monkeypatch.undo()
    monkeypatch.setattr(corpus, "SPEAKERS", corpus.SPEAKERS[:-1])
    assert corpus.corpus_key("asr-digits", 4, 0) != key


def test_frequent_words_are_clean_dictionary_words():
    words = corpus.frequent_words(80)
    assert len(words) == len(set(words)) == 80
    assert all(w.isalpha() and len(w) >= 3 for w in words)
    assert not set(words) & {"public", "private", "jan", "mrs"}
    assert words[0] == "the"


def test_arctic_prompts_ship_with_the_package():
    prompts = corpus.arctic_prompts()
    assert len(prompts) == 1132 and prompts[0][0] == "arctic_a0001"
    ds = corpus.load_corpus("asr-sentences", n=3)
    assert all(s.reference in {t for _, t in prompts} for s in ds)


def test_meeting_reference_turns_are_exact():
    ds = corpus.load_corpus("diarization-meetings", n=2, seed=4)
    for s in ds:
        assert isinstance(s.reference, SpeakerTurns)
        x = s.input.samples
        turns = s.reference.turns
        assert 2 <= len({t[2] for t in turns}) <= 3 and len(s.meta["speakers"]) == len({t[2] for t in turns})
        covered = np.zeros(x.size, bool)
        for start, end, _ in turns:
            a, b = round(start * 16000), round(end * 16000)
            assert 0 <= a < b <= x.size
            assert abs(x[a]) > 0 and abs(x[b - 1]) > 0  # turns start and end on speech (trimmed)
            covered[a:b] = True
        # clean construction: outside every reference turn the mix is exactly silent
        assert not np.any(x[~covered])
        assert covered.mean() > 0.5
