from __future__ import annotations

import pytest

from gapbench.spectro.phonemes import cmu_dict
from gapbench.spectro.words import EXCLUDE, candidate_words, select_words


def test_selection_is_deterministic_and_frequency_ordered() -> None:
    a = select_words(200)
    b = select_words(200)
    assert a == b
    assert a[:3] == ["the", "and", "for"]  # wordfreq's order after dropping <3 letters
    assert select_words(50) == a[:50]  # a prefix: growing the build keeps the earlier words


def test_filters() -> None:
    words = candidate_words(5000)
    cmu = cmu_dict()
    assert all(w.isalpha() and w.islower() and len(w) >= 3 and w in cmu for w in words)
    assert not set(words) & EXCLUDE
    for abbreviation in ("nfl", "bbc", "mrs", "jan"):
        assert abbreviation not in words
    assert "water" in words
    assert "water" not in candidate_words(5000, exclude=["Water"])


def test_too_few_words_is_an_error() -> None:
    with pytest.raises(ValueError, match="usable words"):
        select_words(500, pool=100)
