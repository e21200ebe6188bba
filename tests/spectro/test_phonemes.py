from __future__ import annotations

import numpy as np
import pytest

from gapbench.spectro.phonemes import arpabet_to_segments, distance_matrix, levenshtein, ped, segments


def reference_levenshtein(a, b) -> int:
    """Wagner-Fischer over sequences (the textbook recurrence), the reference for the C version."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_arpabet_to_ipa() -> None:
    assert arpabet_to_segments(["K", "AE1", "T"]) == ("k", "æ", "t")
    assert arpabet_to_segments(["AH0", "B", "AW1", "T"]) == ("ə", "b", "aʊ", "t")  # unstressed AH = schwa
    assert segments("church") == ("tʃ", "ɝ", "tʃ")  # affricates are one segment
    assert segments("zzqx") is None


def test_levenshtein_counts_segments_not_characters() -> None:
    # 'tʃ' vs 't' differ by one segment substitution although they differ by one character insertion
    assert levenshtein(("tʃ", "ɪ", "n"), ("t", "ɪ", "n")) == 1
    assert levenshtein(("aɪ",), ("a",)) == 1
    assert levenshtein(("k", "æ", "t"), ("k", "æ", "t")) == 0
    assert levenshtein(("k", "æ", "t"), ("æ", "t", "s")) == 2  # delete k, insert s
    assert levenshtein((), ("a", "b")) == 2


def test_distance_matrix_matches_reference() -> None:
    rng = np.random.default_rng(0)
    inventory = ["p", "t", "k", "tʃ", "aɪ", "ə", "s", "ʃ"]
    seqs = [tuple(rng.choice(inventory, size=rng.integers(0, 6))) for _ in range(30)]
    d = distance_matrix(seqs[:10], seqs, workers=1)
    want = np.array([[reference_levenshtein(a, b) for b in seqs] for a in seqs[:10]])
    assert (d == want).all()


def test_ped_kinds() -> None:
    cat, bat, cut = segments("cat"), segments("bat"), segments("cut")
    assert ped(cat, bat) == 1.0
    pytest.importorskip("panphon")
    assert ped(cat, cat, "panphon") == 0.0
    # panphon weighs features: k->b (voicing, place) and æ->ʌ are fractional, non-zero costs
    assert 0 < ped(cat, bat, "panphon") and 0 < ped(cat, cut, "panphon")
    with pytest.raises(ValueError, match="PED kind"):
        ped(cat, bat, "hamming")
