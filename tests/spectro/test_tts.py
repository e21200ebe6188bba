from __future__ import annotations

import numpy as np
import pytest

from gapbench.spectro.tts import TTSError, ipa, synthesize


def test_synthesize_returns_int16_speech() -> None:
    a, sr = synthesize("water")
    b, _ = synthesize("water")
    c, _ = synthesize("fire")
    assert sr == 22050 and a.dtype == np.int16 and 0.2 < len(a) / sr < 2.0
    assert abs(len(a) - len(b)) < 100  # espeak-ng's carried-over state moves it by a few samples (see tts.py)
    assert not np.array_equal(a[: len(c)], c[: len(a)])
    assert np.abs(a.astype(float)).max() > 1000  # not silence


def test_voice_rate_and_pitch_change_the_audio() -> None:
    base, _ = synthesize("water", "en-us", 150, 50)
    slow, _ = synthesize("water", "en-us", 100, 50)
    other, _ = synthesize("water", "en-us+f3", 150, 50)
    assert len(slow) > len(base)
    assert not np.array_equal(base, other[: len(base)])


def test_ipa_and_bad_voice() -> None:
    assert ipa("caught").replace("ˈ", "") == "kɔːt"
    with pytest.raises(TTSError, match="no voice"):
        synthesize("water", "xx-nope")
