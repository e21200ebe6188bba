"""The embedded digits dataset: offline, deterministic, stratified."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np
from sklearn.datasets import load_digits

from gapbench.core.sample import content_hash
from gapbench.data import embedded
from gapbench.data.embedded import digits_indices, sklearn_digits


def test_split_shapes_and_fields():
    test = sklearn_digits("test")
    train = sklearn_digits("train")
    assert len(test) == 450 and len(train) == 1347
    digits = load_digits()
    for s in test[:20]:
        i = int(s.id.removeprefix("digits-"))
        assert s.id == f"digits-{i}" and s.meta["index"] == i
        assert s.input.shape == (8, 8) and s.input.dtype == np.float64
        np.testing.assert_array_equal(s.input, digits.images[i])
        assert isinstance(s.reference, int) and s.reference == digits.target[i]


def test_split_is_a_stratified_partition():
    tr, te = set(digits_indices("train")), set(digits_indices("test"))
    assert not tr & te and len(tr | te) == 1797
    y = load_digits().target
    full = Counter(y.tolist())
    test_counts = Counter(y[sorted(te)].tolist())
    for c in range(10):  # stratified: each class keeps its share (within one sample)
        assert abs(test_counts[c] - 0.25 * full[c]) <= 1


def test_deterministic_within_and_across_processes():
    a = [(s.id, s.key) for s in sklearn_digits("test")]
    embedded._digits_split.cache_clear()
    b = [(s.id, s.key) for s in sklearn_digits("test")]
    assert a == b
    code = ("from gapbench.data.embedded import sklearn_digits; from gapbench.core.sample import content_hash;"
            "print(content_hash([(s.id, s.key) for s in sklearn_digits('test')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == content_hash(a)


def test_all_split_and_bad_split():
    assert len(sklearn_digits("all")) == 1797
    import pytest

    with pytest.raises(ValueError, match="unknown digits split 'dev'"):
        sklearn_digits("dev")  # type: ignore[arg-type]
