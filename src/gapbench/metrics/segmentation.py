"""Semantic segmentation: mIoU / mAcc / aAcc exactly as mmsegmentation's ``IoUMetric``.

Per image (mmseg ``intersect_and_union``): pixels whose ground truth equals ``ignore_index`` are
dropped; then per class the intersection (pred == gt), the predicted area, the labelled area and
``union = pred + label - intersect`` are counted. The areas are summed over the dataset and
(mmseg ``total_area_to_metrics``)::

    IoU[c] = I[c] / U[c]      Acc[c] = I[c] / L[c]      aAcc = sum(I) / sum(L)
    mIoU = nanmean(IoU)       mAcc = nanmean(Acc)

so a class absent from both ground truth and prediction is NaN and left out of the means, and a
class that is only predicted has IoU 0 (its Acc is NaN). Values are fractions (mmseg prints
percentages rounded to 2 decimals). ``reduce_zero_label`` is mmseg's ``LoadAnnotations`` rule on
the ground truth: 0 becomes 255 (ignored), every other label is lowered by one (255 stays 255).

Every ground-truth value must be in ``[0, num_classes)`` or equal ``ignore_index``; every
predicted value at a scored pixel must be in ``[0, num_classes)`` (mmseg's ``histc`` would drop
it silently; here it is an error). The 95% intervals resample images and re-aggregate the
per-image areas, so they honour the dataset-level accumulation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapbench.core.metric import Metric
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.data.arrays import ArrayLike, as_array, label_maps
from gapbench.errors import InputError
from gapbench.metrics import stats


def reduce_zero_label(gt: np.ndarray) -> np.ndarray:
    """mmseg's ``reduce_zero_label``: 0 -> 255, others minus 1, 255 stays 255."""
    g = np.array(gt, dtype=np.int64, copy=True)
    g[g == 0] = 255
    g = g - 1
    g[g == 254] = 255
    return g


def intersect_and_union(
    pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class ``(intersect, union, pred_area, label_area)`` of one image (int64, length C)."""
    keep = gt != ignore_index
    p = np.asarray(pred)[keep].astype(np.int64, copy=False)
    g = np.asarray(gt)[keep].astype(np.int64, copy=False)
    area_i = np.bincount(g[p == g], minlength=num_classes)
    area_p = np.bincount(p, minlength=num_classes)
    area_l = np.bincount(g, minlength=num_classes)
    return area_i, area_p + area_l - area_i, area_p, area_l


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _nanmean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are expected
        return np.nanmean(x, axis=axis)


def _mask(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "mask", x))


class SegmentationMetric(Metric):
    """Mergeable mIoU state: per-image class areas (4 x C integers per image)."""

    name = "seg"

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        reduce_zero_label: bool = False,
        class_names: Sequence[str] | None = None,
    ) -> None:
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.reduce_zero_label = bool(reduce_zero_label)
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(f"{len(class_names)} class names for {self.num_classes} classes")
        self.class_names = [str(c) for c in class_names] if class_names is not None else None
        self.ids: list[str] = []
        self._areas: list[np.ndarray] = []  # each (4, C): intersect, union, pred, label

    def add_image(
        self,
        pred: ArrayLike,
        gt: ArrayLike,
        image_id: str | None = None,
        *,
        pred_file: str | None = None,
        gt_file: str | None = None,
        record: str | None = None,
    ) -> None:
        """Validate and count one ``(H, W)`` prediction against its ground truth."""
        p, g = _mask(pred), _mask(gt)
        image_id = str(len(self.ids)) if image_id is None else str(image_id)
        where = record or f"image {image_id!r}"
        for arr, f, what in ((g, gt_file, "ground-truth"), (p, pred_file, "prediction")):
            if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
                raise InputError(f, where, f"an integer {what} mask (class indices)", f"dtype {arr.dtype}")
            if arr.ndim != 2:
                raise InputError(f, where, f"a {what} mask of shape (H, W)", f"shape {arr.shape}")
        if p.shape != g.shape:
            raise InputError(
                pred_file, where, f"a prediction of the ground truth's shape {g.shape}", f"shape {p.shape}"
            )
        if self.reduce_zero_label:
            g = reduce_zero_label(g)
        c = self.num_classes
        keep = g != self.ignore_index
        gk = g[keep]
        bad = (gk < 0) | (gk >= c)
        if bad.any():
            raise InputError(
                gt_file,
                where,
                f"labels in [0, {c}) or ignore_index {self.ignore_index}",
                int(gk[np.argmax(bad)]),
            )
        pk = p[keep]
        bad = (pk < 0) | (pk >= c)
        if bad.any():
            raise InputError(
                pred_file, where, f"predicted classes in [0, {c}) at scored pixels", int(pk[np.argmax(bad)])
            )
        self._areas.append(np.stack(intersect_and_union(p, g, c, self.ignore_index)))
        self.ids.append(image_id)

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        predictions = list(predictions)
        references = list(references)
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        start = len(self.ids)
        ids = [str(start + i) for i in range(len(references))] if ids is None else list(ids)
        if len(ids) != len(references):
            raise ValueError(f"{len(ids)} ids for {len(references)} references")
        for image_id, pred, gt in zip(ids, predictions, references):
            self.add_image(pred, gt, image_id)

    def merge(self, other: SegmentationMetric) -> SegmentationMetric:
        same = (other.num_classes, other.ignore_index, other.reduce_zero_label) == (
            self.num_classes,
            self.ignore_index,
            self.reduce_zero_label,
        )
        if not same:
            raise ValueError("cannot merge segmentation states with different settings")
        self.ids.extend(other.ids)
        self._areas.extend(other._areas)
        return self

    def areas(self) -> np.ndarray:
        """``(n_images, 4, C)`` int64: intersect, union, pred and label areas per image."""
        if not self._areas:
            return np.zeros((0, 4, self.num_classes), dtype=np.int64)
        return np.stack(self._areas)

    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        areas = self.areas()
        n, c = areas.shape[0], self.num_classes
        tot = areas.sum(axis=0)
        iou = _divide(tot[0], tot[1])
        acc = _divide(tot[0], tot[3])
        a_acc = float(_divide(np.array(tot[0].sum()), np.array(tot[3].sum())))
        miou, macc = float(_nanmean(iou)), float(_nanmean(acc))

        notes: list[str] = []
        bounds = None
        if ci and bootstrap > 0:
            if n < stats.MIN_UNITS:
                notes.append(f"too few images for an interval ({n})")
            else:
                fi, fu, fl = (areas[:, k, :].astype(np.float64) for k in (0, 1, 3))

                def statistic(cnt: np.ndarray) -> np.ndarray:
                    ti, tu, tl = cnt @ fi, cnt @ fu, cnt @ fl
                    r_iou, r_acc = _divide(ti, tu), _divide(ti, tl)
                    r_aacc = _divide(ti.sum(axis=1), tl.sum(axis=1))
                    return np.column_stack([_nanmean(r_iou), _nanmean(r_acc), r_aacc, r_iou, r_acc])

                bounds = stats.bootstrap_ci(n, statistic, bootstrap, seed)

        def ci_of(j: int) -> tuple[float, float] | None:
            return None if bounds is None else (float(bounds[0, j]), float(bounds[1, j]))

        names = self.class_names or [str(k) for k in range(c)]
        metrics = {
            "mIoU": MetricValue(miou, ci_of(0)),
            "mAcc": MetricValue(macc, ci_of(1)),
            "aAcc": MetricValue(a_acc, ci_of(2)),
        }
        per_class: dict[str, MetricValue] = {}
        for k, name in enumerate(names):
            per_class[f"IoU.{name}"] = MetricValue(float(iou[k]), None if np.isnan(iou[k]) else ci_of(3 + k))
        for k, name in enumerate(names):
            per_class[f"Acc.{name}"] = MetricValue(
                float(acc[k]), None if np.isnan(acc[k]) else ci_of(3 + c + k)
            )
        absent = [names[k] for k in range(c) if tot[1, k] == 0]
        if absent:
            notes.append(
                f"{len(absent)} class(es) absent from ground truth and prediction (IoU undefined, "
                f"left out of mIoU): {', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''}"
            )
        if n and tot[3].sum() == 0:
            notes.append("every pixel is ignored: no scored pixels")
        records = []
        for image_id, a in zip(self.ids, self._areas):
            pixels, correct = int(a[3].sum()), int(a[0].sum())
            records.append(
                {
                    "id": image_id,
                    "pixels": pixels,
                    "correct": correct,
                    "acc": correct / pixels if pixels else None,
                }
            )
        info: dict[str, Any] = {
            "images": n,
            "num_classes": c,
            "ignore_index": self.ignore_index,
            "reduce_zero_label": self.reduce_zero_label,
            "scored_pixels": int(tot[3].sum()),
            "units": "fractions (mmseg reports percentages)",
        }
        if bounds is not None:
            info.update(resamples=bootstrap, seed=seed, ci_over="images")
        return ScoreResult("seg", metrics, {"per_class": per_class}, info, notes, records)


def score_seg(
    gt: ArrayLike,
    pred: ArrayLike,
    *,
    num_classes: int,
    ignore_index: int = 255,
    reduce_zero_label: bool = False,
    class_names: Sequence[str] | None = None,
    bootstrap: int = stats.DEFAULT_RESAMPLES,
    seed: int = stats.DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """mIoU / mAcc / aAcc of ``pred`` against ``gt``: ``.npy`` paths or integer arrays,
    ``(H, W)`` or ``(N, H, W)``, with mmseg ``IoUMetric`` semantics (see the module docstring)."""
    if int(num_classes) < 1:
        raise InputError("--num-classes", None, "a number of classes >= 1", num_classes)
    g_arr, g_file = as_array(gt)
    p_arr, p_file = as_array(pred)
    g3 = label_maps(g_arr, g_file, "ground-truth")
    p3 = label_maps(p_arr, p_file, "prediction")
    if g3.shape != p3.shape:
        raise InputError(
            p_file,
            None,
            f"a prediction array of the ground truth's shape {tuple(g_arr.shape)}",
            f"shape {tuple(p_arr.shape)}",
        )
    metric = SegmentationMetric(num_classes, ignore_index, reduce_zero_label, class_names)
    for i in range(g3.shape[0]):
        metric.add_image(
            np.asarray(p3[i]),
            np.asarray(g3[i]),
            str(i),
            pred_file=p_file,
            gt_file=g_file,
            record=f"image {i}",
        )
    result = metric.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    for name, f in (("gt", g_file), ("pred", p_file)):
        if f is not None:
            result.info[name] = f
    return result
