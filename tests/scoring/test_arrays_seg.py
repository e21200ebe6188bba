"""scoring.arrays.score_seg against mmseg's rules: ignore index, intervals over images, file errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from seg_ref import (
    check_against_mmseg,
)

from gapbench.errors import InputError
from gapbench.scoring.arrays import score_seg


def test_single_image_all_ignored_and_custom_ignore_index() -> None:
    gt = np.full((4, 4), 255, dtype=np.uint8)
    gt2 = np.array([[0, 1], [2, 9]], dtype=np.int16)
    pred2 = np.array([[0, 1], [1, 0]], dtype=np.int16)
    result, _ = check_against_mmseg(gt2, pred2, 3, ignore_index=9)
    assert result.info["images"] == 1
    empty = score_seg(gt, np.zeros((4, 4), np.uint8), num_classes=3)
    assert np.isnan(empty.metrics["mIoU"].value) and np.isnan(empty.metrics["aAcc"].value)
    assert any("too few images" in n for n in empty.notes)


def test_interval_over_images() -> None:
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 4, size=(30, 8, 8))
    pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 4, size=gt.shape))
    result = score_seg(gt, pred, num_classes=4, bootstrap=200, seed=5)
    for name in ("mIoU", "mAcc", "aAcc"):
        lo, hi = result.metrics[name].ci95
        assert lo <= result.metrics[name].value <= hi
    again = score_seg(gt, pred, num_classes=4, bootstrap=200, seed=5)
    assert again.to_json() == result.to_json()
    assert result.records[0]["pixels"] == 64


def test_files_and_errors(tmp_path: Path) -> None:
    gt = np.array([[[0, 1], [1, 2]]], dtype=np.uint8)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "pred.npy", gt.astype(np.int32))
    result = score_seg(tmp_path / "gt.npy", tmp_path / "pred.npy", num_classes=3, ci=False)
    assert result.metrics["mIoU"].value == 1.0
    np.save(tmp_path / "bad_shape.npy", np.zeros((1, 2, 3), np.uint8))
    with pytest.raises(
        InputError, match=r"bad_shape\.npy: expected a prediction array of the ground truth's shape"
    ):
        score_seg(tmp_path / "gt.npy", tmp_path / "bad_shape.npy", num_classes=3)
    np.save(tmp_path / "float.npy", gt.astype(np.float32))
    with pytest.raises(InputError, match=r"float\.npy: expected an integer prediction array.*float32"):
        score_seg(tmp_path / "gt.npy", tmp_path / "float.npy", num_classes=3)
    with pytest.raises(
        InputError, match=r"gt\.npy: image 0: expected labels in \[0, 2\) or ignore_index 255, got 2"
    ):
        score_seg(tmp_path / "gt.npy", tmp_path / "pred.npy", num_classes=2)
    np.save(tmp_path / "p7.npy", np.full((1, 2, 2), 7, np.int32))
    with pytest.raises(InputError, match=r"p7\.npy: image 0: expected predicted classes in \[0, 3\)"):
        score_seg(tmp_path / "gt.npy", tmp_path / "p7.npy", num_classes=3)
    np.save(tmp_path / "4d.npy", np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(InputError, match=r"shape \(H, W\) or \(N, H, W\)"):
        score_seg(tmp_path / "4d.npy", tmp_path / "4d.npy", num_classes=3)
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    with pytest.raises(InputError, match=r"junk\.npy: expected a NumPy \.npy array"):
        score_seg(tmp_path / "junk.npy", tmp_path / "pred.npy", num_classes=3)
