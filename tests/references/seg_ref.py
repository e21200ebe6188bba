"""mmseg's IoUMetric, transcribed, as the reference for the mIoU tests (metrics/ and scoring/ share it)."""
from __future__ import annotations

import numpy as np

from gapbench.scoring.arrays import score_seg


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def histc(x: np.ndarray, num_classes: int) -> np.ndarray:
    return np.histogram(x.astype(np.float32), bins=num_classes, range=(0, num_classes - 1))[0].astype(
        np.float64
    )


def mmseg_intersect_and_union(pred_label, label, num_classes, ignore_index):
    mask = label != ignore_index
    pred_label = pred_label[mask]
    label = label[mask]
    intersect = pred_label[pred_label == label]
    area_intersect = histc(intersect, num_classes)
    area_pred_label = histc(pred_label, num_classes)
    area_label = histc(label, num_classes)
    area_union = area_pred_label + area_label - area_intersect
    return area_intersect, area_union, area_pred_label, area_label


def mmseg_reduce_zero_label(gt_semantic_seg):
    gt_semantic_seg = gt_semantic_seg.astype(np.uint8).copy()
    gt_semantic_seg[gt_semantic_seg == 0] = 255
    gt_semantic_seg = gt_semantic_seg - 1
    gt_semantic_seg[gt_semantic_seg == 254] = 255
    return gt_semantic_seg


def mmseg_iou_metric(preds, gts, num_classes, ignore_index=255, reduce_zero_label=False):
    results = []
    for pred, gt in zip(preds, gts):
        if reduce_zero_label:
            gt = mmseg_reduce_zero_label(gt)
        results.append(mmseg_intersect_and_union(pred, gt, num_classes, ignore_index))
    results = tuple(zip(*results))
    total_area_intersect = sum(results[0])
    total_area_union = sum(results[1])
    total_area_label = sum(results[3])
    with np.errstate(divide="ignore", invalid="ignore"):
        all_acc = total_area_intersect.sum() / total_area_label.sum()
        iou = total_area_intersect / total_area_union
        acc = total_area_intersect / total_area_label
    with _quiet():  # nanmean of an all-NaN vector warns
        summary = {"aAcc": all_acc, "mIoU": np.nanmean(iou), "mAcc": np.nanmean(acc)}
    return summary, iou, acc  # mmseg then reports np.round(x * 100, 2); we keep fractions


def same_value(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


def check_against_mmseg(gt, pred, num_classes, ignore_index=255, reduce_zero_label=False):
    result = score_seg(
        gt,
        pred,
        num_classes=num_classes,
        ignore_index=ignore_index,
        reduce_zero_label=reduce_zero_label,
        ci=False,
    )
    g3 = np.asarray(gt).reshape(-1, *np.asarray(gt).shape[-2:])
    p3 = np.asarray(pred).reshape(-1, *np.asarray(pred).shape[-2:])
    summary, iou, acc = mmseg_iou_metric(p3, g3, num_classes, ignore_index, reduce_zero_label)
    for name in ("mIoU", "mAcc", "aAcc"):
        assert same_value(result.metrics[name].value, float(summary[name])), name
    for c in range(num_classes):
        assert same_value(result.groups["per_class"][f"IoU.{c}"].value, float(iou[c]))
        assert same_value(result.groups["per_class"][f"Acc.{c}"].value, float(acc[c]))
    return result, iou
