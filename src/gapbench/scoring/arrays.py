"""Scores from ``.npy`` arrays: segmentation masks (mIoU) and classification scores (top-k),
and their paired comparisons."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gapbench.core.arrays import label_maps
from gapbench.core.results import CompareResult, ScoreResult
from gapbench.data.arrays import ArrayLike, as_array
from gapbench.errors import InputError
from gapbench.metrics import intervals
from gapbench.metrics.segmentation import SegmentationMetric
from gapbench.metrics.topk import TopKAccuracy
from gapbench.scoring.compare import compare_metrics


def _seg_metric(gt: ArrayLike, pred: ArrayLike, metric: SegmentationMetric) -> SegmentationMetric:
    g_arr, g_file = as_array(gt)
    p_arr, p_file = as_array(pred)
    g3 = label_maps(g_arr, g_file, "ground-truth")
    p3 = label_maps(p_arr, p_file, "prediction")
    if g3.shape != p3.shape:
        raise InputError(p_file, None, f"a prediction array of the ground truth's shape {tuple(g_arr.shape)}",
                         f"shape {tuple(p_arr.shape)}")
    for i in range(g3.shape[0]):
        metric.add_image(np.asarray(p3[i]), np.asarray(g3[i]), str(i), pred_file=p_file, gt_file=g_file,
                         record=f"image {i}")
    return metric


def score_seg(
    gt: ArrayLike,
    pred: ArrayLike,
    *,
    num_classes: int,
    ignore_index: int = 255,
    reduce_zero_label: bool = False,
    class_names: Sequence[str] | None = None,
    bootstrap: int = intervals.DEFAULT_RESAMPLES,
    seed: int = intervals.DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """mIoU / mAcc / aAcc of ``pred`` against ``gt``: ``.npy`` paths or integer arrays,
    ``(H, W)`` or ``(N, H, W)``, with mmseg ``IoUMetric`` semantics (see the module docstring)."""
    metric = SegmentationMetric(num_classes, ignore_index, reduce_zero_label, class_names)
    _seg_metric(gt, pred, metric)
    result = metric.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    for name, f in (("gt", gt), ("pred", pred)):
        if isinstance(f, str):
            result.info[name] = f
    return result


def score_topk(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    k: int | Iterable[int] = (1, 5),
    ids: Sequence[str] | None = None,
    bootstrap: int = intervals.DEFAULT_RESAMPLES,
    seed: int = intervals.DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Top-k accuracy of ``logits`` ``(N, C)`` (or binary ``(N,)``) against integer ``labels``
    ``(N,)``; ``.npy`` paths or arrays. Matches ``sklearn.metrics.top_k_accuracy_score``.
    ``bootstrap``/``seed`` are accepted for a uniform API; the interval is Wilson's."""
    metric = TopKAccuracy(k)
    s_arr, s_file = as_array(logits)
    l_arr, l_file = as_array(labels)
    metric.add_arrays(s_arr, l_arr, ids, scores_file=s_file, labels_file=l_file)
    result = metric.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    for name, f in (("logits", s_file), ("labels", l_file)):
        if f is not None:
            result.info[name] = f
    return result


def compare_seg(gt: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike, *, num_classes: int,
                ignore_index: int = 255, reduce_zero_label: bool = False, metric: str = "mIoU",
                bootstrap: int = intervals.DEFAULT_RESAMPLES, seed: int = intervals.DEFAULT_SEED,
                ci: bool = True) -> CompareResult:
    """Paired bootstrap over images of mIoU (or mAcc, aAcc) of A minus B on the same ground truth."""
    a, b = (_seg_metric(gt, p, SegmentationMetric(num_classes, ignore_index, reduce_zero_label))
            for p in (pred_a, pred_b))
    return compare_metrics(a, b, metric, a_label=_label(pred_a, "A"), b_label=_label(pred_b, "B"),
                           bootstrap=bootstrap, seed=seed, ci=ci)


def compare_topk(logits_a: ArrayLike, logits_b: ArrayLike, labels: ArrayLike, *, k: int = 1,
                 bootstrap: int = intervals.DEFAULT_RESAMPLES, seed: int = intervals.DEFAULT_SEED,
                 ci: bool = True) -> CompareResult:
    """Paired bootstrap over samples of top-``k`` accuracy of A minus B on the same labels."""
    metrics = []
    l_arr, l_file = as_array(labels)
    for logits in (logits_a, logits_b):
        m = TopKAccuracy(k)
        s_arr, s_file = as_array(logits)
        m.add_arrays(s_arr, l_arr, scores_file=s_file, labels_file=l_file)
        metrics.append(m)
    return compare_metrics(metrics[0], metrics[1], f"top{k}", a_label=_label(logits_a, "A"),
                           b_label=_label(logits_b, "B"), bootstrap=bootstrap, seed=seed, ci=ci)


def _label(src: Any, default: str) -> str:
    """A system is named by its file (a ``str`` or a ``Path``); in-memory arrays by ``default``."""
    return str(src) if isinstance(src, (str, os.PathLike)) else default
