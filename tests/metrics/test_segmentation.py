"""mIoU / mAcc / aAcc against a transcription of mmsegmentation's ``IoUMetric`` (mmseg is not
installable here) and, per class, against ``sklearn.metrics.jaccard_score``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seg_ref import (
    check_against_mmseg,
)

from gapbench.core.predictions import SegMask
from gapbench.metrics.segmentation import SegmentationMetric


def _sklearn_cross_check(gt, pred, num_classes, iou, ignore_index=255):
    from sklearn.metrics import jaccard_score

    g, p = np.asarray(gt).ravel(), np.asarray(pred).ravel()
    keep = g != ignore_index
    present = [c for c in range(num_classes) if not np.isnan(iou[c])]
    expected = jaccard_score(g[keep], p[keep], average=None, labels=present, zero_division=0)
    np.testing.assert_allclose(iou[present], expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(6))
def test_random_against_mmseg_and_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = int(rng.integers(2, 9))
    n, h, w = int(rng.integers(1, 5)), int(rng.integers(1, 20)), int(rng.integers(1, 20))
    gt = rng.integers(0, c, size=(n, h, w)).astype(np.uint8)
    pred = np.where(rng.random((n, h, w)) < 0.6, gt, rng.integers(0, c, size=(n, h, w))).astype(np.int32)
    gt[rng.random((n, h, w)) < 0.15] = 255
    result, iou = check_against_mmseg(gt, pred, c)
    _sklearn_cross_check(gt, pred, c, iou)
    assert set(result.to_json()["metrics"]) == {"mIoU", "mAcc", "aAcc"}


def test_absent_and_only_predicted_classes() -> None:
    gt = np.array([[0, 0, 1, 255], [1, 1, 0, 255]], dtype=np.uint8)
    pred = np.array([[0, 3, 1, 4], [1, 0, 0, 7]], dtype=np.int64)  # 3 only predicted; 4,7 at ignored pixels
    result, iou = check_against_mmseg(gt, pred, 5)
    per = result.groups["per_class"]
    assert per["IoU.3"].value == 0.0 and np.isnan(per["Acc.3"].value)  # only predicted: counts as 0
    assert np.isnan(per["IoU.2"].value) and np.isnan(per["IoU.4"].value)  # absent everywhere: skipped
    assert result.metrics["mIoU"].value == pytest.approx(np.mean([iou[0], iou[1], 0.0]))
    assert result.to_json()["per_class"]["IoU.2"]["value"] is None
    assert any("absent" in n for n in result.notes)
    _sklearn_cross_check(gt, pred, 5, iou)


def test_reduce_zero_label_like_mmseg() -> None:
    rng = np.random.default_rng(7)
    gt = rng.integers(0, 5, size=(3, 9, 11)).astype(np.uint8)  # 0 = "other" -> ignored
    gt[:, 0, :] = 255
    pred = rng.integers(0, 4, size=(3, 9, 11)).astype(np.uint8)
    result, _ = check_against_mmseg(gt, pred, 4, reduce_zero_label=True)
    assert result.info["scored_pixels"] == int(((gt != 0) & (gt != 255)).sum())


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 8),
    cuts=st.lists(st.integers(0, 8), max_size=3),
)
def test_merge_of_shards_equals_one_shot(seed: int, n: int, cuts: list[int]) -> None:
    rng = np.random.default_rng(seed)
    gts = [rng.integers(0, 4, size=(5, 6)) for _ in range(n)]
    for g in gts:
        g[rng.random(g.shape) < 0.2] = 255
    preds = [SegMask(rng.integers(0, 4, size=(5, 6))) for _ in range(n)]
    ids = [f"img{i}" for i in range(n)]
    one = SegmentationMetric(4)
    one.update(preds, gts, ids)
    bounds = sorted({0, n, *(min(c, n) for c in cuts)})
    shards = []
    for a, b in zip(bounds, bounds[1:]):
        m = SegmentationMetric(4)
        m.update(preds[a:b], gts[a:b], ids[a:b])
        shards.append(m)
    merged = shards[0]
    for m in shards[1:]:
        merged.merge(m)
    assert one.compute(bootstrap=40, seed=2).to_json(with_records=True) == merged.compute(
        bootstrap=40, seed=2
    ).to_json(with_records=True)
