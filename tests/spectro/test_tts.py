"""spectro speaks through the one espeak-ng source (gapbench.speech.tts): a word's clip is the same
whatever was spoken before, in this process or a fresh one."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gapbench.errors import ModelError
from gapbench.spectro.build import synthesize_word


def test_synthesize_word_returns_int16_speech_independent_of_history() -> None:
    a, sr = synthesize_word("water")
    c, _ = synthesize_word("fire")
    b, _ = synthesize_word("water")
    assert sr == 22050 and a.dtype == np.int16 and 0.2 < len(a) / sr < 2.0
    assert np.array_equal(a, b)  # a fresh library instance per word: no carried-over state
    assert not np.array_equal(a[: len(c)], c[: len(a)])
    assert np.abs(a.astype(float)).max() > 1000  # not silence
    code = ("import hashlib; from gapbench.spectro.build import synthesize_word; "
            "print(hashlib.sha256(synthesize_word('water')[0].tobytes()).hexdigest())")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    import hashlib

    assert fresh == hashlib.sha256(a.tobytes()).hexdigest()  # the same bytes as a fresh process


def test_voice_rate_and_pitch_change_the_audio() -> None:
    base, _ = synthesize_word("water", "en-us", 150, 50)
    slow, _ = synthesize_word("water", "en-us", 100, 50)
    other, _ = synthesize_word("water", "en-us+f3", 150, 50)
    assert len(slow) > len(base)
    assert not np.array_equal(base, other[: len(base)])


def test_bad_voice_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="no voice"):
        synthesize_word("water", "xx-nope")
    assert synthesize_word("water")[0].size > 1000  # the failed call left no broken engine behind


def test_private_library_copy_leaves_nothing_on_disk() -> None:
    import os

    from gapbench.speech.tts import _private_library

    path = _private_library()
    assert path.startswith("/proc/self/fd/") and os.path.exists(path)
    assert os.readlink(path).endswith("(deleted)")  # an anonymous memfd, or a temporary file already unlinked
