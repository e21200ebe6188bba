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

Every ground-truth value (after ``reduce_zero_label``) must be in ``[0, num_classes)`` or equal
``ignore_index``; every predicted value at a scored pixel must be in ``[0, num_classes)`` (mmseg's
``histc`` would drop it silently; here it is an error). ``num_classes`` is at most 65,536; classes
absent from the data are legal (NaN, as in mmseg). The 95% intervals resample images and re-aggregate the
per-image areas, so they honour the dataset-level accumulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gapbench.core.arrays import nanmean, safe_ratio
from gapbench.core.metric import FRACTION_UP, ComponentMetric, check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError

MAX_CLASSES = 65536  # more is a mistake (a label map holding raw colours or ids), refused


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


def _mask(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "mask", x))


class SegmentationMetric(ComponentMetric):
    """Mergeable mIoU state: per-image class areas (4 x C integers per image)."""

    name = "seg"
    unit = "image"
    dtype = np.int64
    declared = {"mIoU": FRACTION_UP, "mAcc": FRACTION_UP, "aAcc": FRACTION_UP}

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        reduce_zero_label: bool = False,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
                or not 1 <= int(num_classes) <= MAX_CLASSES:
            raise InputError(None, "number of classes", f"an integer in [1, {MAX_CLASSES}]", num_classes)
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.reduce_zero_label = bool(reduce_zero_label)
        if class_names is not None and len(class_names) != self.num_classes:
            raise InputError(None, "class names", f"{self.num_classes} names (one per class)", len(class_names))
        self.class_names = [str(c) for c in class_names] if class_names is not None else None

    def config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "ignore_index": self.ignore_index,
                "reduce_zero_label": self.reduce_zero_label, "class_names": self.class_names}

    def add_image(
        self,
        pred: Any,
        gt: Any,
        image_id: str | None = None,
        *,
        pred_file: str | None = None,
        gt_file: str | None = None,
        record: str | None = None,
    ) -> None:
        """Validate and count one ``(H, W)`` prediction against its ground truth."""
        p, g = _mask(pred), _mask(gt)
        where = record or f"image {image_id if image_id is not None else len(self.ids)!r}"
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
                f"labels in [0, {c}) or ignore_index {self.ignore_index}"
                + (" after reduce_zero_label" if self.reduce_zero_label else ""),
                int(gk[np.argmax(bad)]),
            )
        pk = p[keep]
        bad = (pk < 0) | (pk >= c)
        if bad.any():
            raise InputError(
                pred_file, where, f"predicted classes in [0, {c}) at scored pixels", int(pk[np.argmax(bad)])
            )
        self.add_units(np.concatenate(intersect_and_union(p, g, c, self.ignore_index))[None, :],
                       None if image_id is None else [str(image_id)])

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        preds, refs, id_list = check_batch(predictions, references, ids)
        for k, (pred, gt) in enumerate(zip(preds, refs)):
            image_id = id_list[k] if id_list else None
            self.add_image(pred, gt, image_id)

    def areas(self) -> np.ndarray:
        """``(n_images, 4, C)`` int64: intersect, union, pred and label areas per image."""
        return self.table().reshape(-1, 4, self.num_classes)

    def _names(self) -> list[str]:
        return self.class_names or [str(k) for k in range(self.num_classes)]

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        t = totals.reshape(len(totals), 4, self.num_classes)
        ti, tu, tl = t[:, 0], t[:, 1], t[:, 3]
        iou, acc = safe_ratio(ti, tu), safe_ratio(ti, tl)
        out = {"mIoU": nanmean(iou), "mAcc": nanmean(acc), "aAcc": safe_ratio(ti.sum(axis=1), tl.sum(axis=1))}
        names = self._names()
        out.update({f"per_class/IoU.{n}": iou[:, k] for k, n in enumerate(names)})
        out.update({f"per_class/Acc.{n}": acc[:, k] for k, n in enumerate(names)})
        return out

    def interval_names(self, names: Sequence[str]) -> list[str]:
        return list(names)

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        a = rows.reshape(-1, 4, self.num_classes)
        out = []
        for image_id, img in zip(self.unit_ids(), a):
            pixels, correct = int(img[3].sum()), int(img[0].sum())
            out.append({"sample_id": image_id, "pixels": pixels, "correct": correct,
                        "acc": correct / pixels if pixels else None})
        return out

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        tot = rows.reshape(-1, 4, self.num_classes).sum(axis=0)
        names = self._names()
        absent = [names[k] for k in range(self.num_classes) if tot[1, k] == 0]
        if absent:
            result.notes.append(
                f"{len(absent)} class(es) absent from ground truth and prediction (IoU undefined, "
                f"left out of mIoU): {', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''}"
            )
        if len(rows) and tot[3].sum() == 0:
            result.notes.append("every pixel is ignored: no scored pixels")
        result.info.update({"num_classes": self.num_classes, "ignore_index": self.ignore_index,
                            "reduce_zero_label": self.reduce_zero_label, "scored_pixels": int(tot[3].sum()),
                            "units": "fractions (mmseg reports percentages)"})
