"""The one espeak-ng source: library calls through espeakng-loader, deterministic in a fresh worker."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.errors import ModelError
from gapbench.speech.tts import Voice, generator_versions, synthesize, synthesize_fresh, trim_silence


def test_synthesize_gives_clean_float_audio_at_the_requested_rate():
    x = synthesize("seven", Voice("en-us"), sample_rate=16000)
    assert x.dtype == np.float32 and x.ndim == 1
    assert 0.2 < x.size / 16000 < 1.5  # one short word
    assert np.abs(x).max() <= 1.0
    # clean: espeak's own padding is exact digital silence (no noise floor added)
    assert abs(x[0]) < 1e-6 and abs(x[-1]) < 1e-6
    y = trim_silence(x)
    assert 0 < y.size < x.size and abs(y[0]) > 1e-3 and abs(y[-1]) > 1e-3
    assert synthesize("seven", Voice("en-us"), sample_rate=8000).size == pytest.approx(x.size / 2, rel=0.02)  # (carried-over state: +-25 samples)


def test_voices_rates_and_pitches_make_different_speakers():
    base = trim_silence(synthesize("seven", Voice("en-us", 175, 50)))
    slow = trim_silence(synthesize("seven", Voice("en-us", 120, 50)))
    assert slow.size > 1.2 * base.size
    f3 = trim_silence(synthesize("seven", Voice("en-us+f3", 175, 50)))
    assert f3.size != base.size or not np.array_equal(f3, base)


def test_unknown_voice_is_a_model_error():
    with pytest.raises(ModelError, match="no voice 'xx-nope'"):
        synthesize("seven", Voice("xx-nope"))


def test_fresh_worker_is_bit_reproducible_and_reports_versions():
    jobs = [("one two", Voice("en-us"), 16000, 0), ("three", Voice("en-029+f2", 150, 60), 16000, 5)]
    a, va = synthesize_fresh(jobs, chunk=1)
    b, vb = synthesize_fresh(jobs)
    assert va == vb == generator_versions()
    assert va["espeak-ng"].count(".") >= 1
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len(a) == 2 and all(x.size > 1000 for x in a)


def test_ipa_follows_the_voice():
    from gapbench.speech.tts import ipa

    us, gb = ipa("tomato", "en-us"), ipa("tomato", "en")
    assert us != gb and us.startswith("t") and "ˈ" in us  # stress mark, IPA not ASCII phoneme names
    assert len(ipa("hello world. good morning").split()) == 4  # every clause, not just the first
    with pytest.raises(ModelError, match="no voice"):
        ipa("x", "xx-nope")


def test_every_utterance_is_spoken_by_a_fresh_instance():
    # espeak-ng carries waveform state between utterances of one library instance; synthesize_pcm
    # loads a private copy per utterance, so history no longer matters (same bytes alone or after others)
    from gapbench.speech.tts import synthesize_pcm

    a, rate = synthesize_pcm("water", Voice("en-us", 150, 50))
    synthesize_pcm("something else entirely", Voice("en-029+f2"))
    b, _ = synthesize_pcm("water", Voice("en-us", 150, 50))
    assert rate == 22050 and a.dtype == np.int16 and np.array_equal(a, b)
    clips, _ = synthesize_fresh([("fire", Voice("en-us"), 22050, 0), ("water", Voice("en-us", 150, 50), 22050, 0)])
    assert np.array_equal(np.round(clips[1] * 32768).astype(np.int16), a)
