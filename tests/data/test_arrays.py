"""``.npy`` loading and validation for masks, scores and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gapbench.core.arrays import class_labels, class_scores, label_maps
from gapbench.data.arrays import as_array, load_npy
from gapbench.errors import InputError


def test_load_is_memory_mapped_and_rejects_pickles(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(6).reshape(2, 3))
    arr = load_npy(tmp_path / "a.npy")
    assert isinstance(arr, np.memmap) and arr.shape == (2, 3)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"obj\.npy: expected a NumPy \.npy array file"):
        load_npy(tmp_path / "obj.npy")
    with pytest.raises(FileNotFoundError):
        load_npy(tmp_path / "missing.npy")
    arr, name = as_array([[1, 2]])
    assert name is None and arr.shape == (1, 2)


def test_label_maps() -> None:
    assert label_maps(np.zeros((4, 5), np.uint8), "m.npy", "ground-truth").shape == (1, 4, 5)
    assert label_maps(np.zeros((2, 4, 5), np.int64), "m.npy", "ground-truth").shape == (2, 4, 5)
    with pytest.raises(InputError, match=r"m\.npy: expected an integer ground-truth array"):
        label_maps(np.zeros((4, 5), np.float32), "m.npy", "ground-truth")
    with pytest.raises(InputError, match="integer"):
        label_maps(np.zeros((4, 5), bool), "m.npy", "ground-truth")
    with pytest.raises(
        InputError, match=r"expected a prediction array of shape \(H, W\) or \(N, H, W\), got 'shape \(5,\)'"
    ):
        label_maps(np.zeros(5, np.int32), "p.npy", "prediction")


def test_scores_and_labels() -> None:
    assert class_scores(np.zeros((3, 2), np.float16), None).dtype == np.float64
    assert class_scores(np.array([1, 2, 3]), None).ndim == 1  # integer scores are fine
    with pytest.raises(InputError, match=r"<input>: sample 1: expected finite scores"):
        class_scores(np.array([[0.0], [np.nan]]), None)
    with pytest.raises(InputError, match=r"expected scores of shape \(N, C\)"):
        class_scores(np.zeros((2, 2, 2)), "s.npy")
    with pytest.raises(InputError, match="at least one class column"):
        class_scores(np.zeros((2, 0)), "s.npy")
    assert class_labels(np.array([[1], [0]]), "l.npy", 2).tolist() == [1, 0]
    with pytest.raises(InputError, match=r"l\.npy: sample 0: expected a label in \[0, 3\), got -1"):
        class_labels(np.array([-1, 0]), "l.npy", 3)
