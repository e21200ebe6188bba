"""COCO mAP for tasks whose references are box lists (the form geometric shifts move).

The embedded and file-based detection data sets give each image a reference
``{"boxes": [[x, y, w, h], ...], "labels": [...], "width": W, "height": H}`` plus optional
per-box ``iscrowd`` and ``areas`` (with ``area_boxes``: the boxes the areas belong to) and the
data set's ``categories``. Geometric shifts move ``boxes`` only
(:mod:`gapbench.shifts.image_geometry`), so :func:`reference_to_annotations` builds the COCO
annotations from whatever boxes the reference holds now:

* ``area``: the file's ``areas[i]`` (COCO's own, e.g. a mask area) scaled by how much the box's
  area changed since loading (``w*h / area_boxes[i] w*h``; exactly the file's value on clean
  images); without ``areas``, ``w * h``. pycocotools uses this field for the small/medium/large
  ranges.
* A box a shift pushed wholly out of the frame (zero width or height) is no longer in the image:
  it is left out of the ground truth, and the result notes how many were.

Scoring is :class:`gapbench.metrics.coco.COCOMetric` (pycocotools-exact, image bootstrap).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gapbench.core.metric import check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError
from gapbench.metrics.coco import COCOMetric


def reference_to_annotations(ref: Any, where: str) -> tuple[list[dict[str, Any]], int]:
    """COCO annotation dicts of one box reference, and how many zero-size boxes were left out."""
    if not isinstance(ref, Mapping) or "boxes" not in ref:
        raise InputError(None, where, "a reference {'boxes': [[x, y, w, h], ...], 'labels': [...]}", type(ref).__name__)
    boxes = list(ref["boxes"])
    labels = list(ref.get("labels", [1] * len(boxes)))
    crowd = list(ref.get("iscrowd", [0] * len(boxes)))
    areas = ref.get("areas")
    area_boxes = ref.get("area_boxes")
    if len(labels) != len(boxes) or len(crowd) != len(boxes) or (areas is not None and len(areas) != len(boxes)):
        raise InputError(None, where, "as many labels (and iscrowd, areas) as boxes",
                         (len(boxes), len(labels), len(crowd)))
    anns, dropped = [], 0
    for i, (box, label) in enumerate(zip(boxes, labels)):
        x, y, w, h = (float(v) for v in box)
        if w <= 0 or h <= 0:
            dropped += 1
            continue
        if areas is not None:
            bw, bh = (float(v) for v in area_boxes[i][2:]) if area_boxes is not None else (w, h)
            area = float(areas[i]) * ((w * h) / (bw * bh)) if bw * bh > 0 else w * h
        else:
            area = w * h
        anns.append({"bbox": [x, y, w, h], "category_id": int(label), "area": area, "iscrowd": int(crowd[i])})
    return anns, dropped


class BoxDetectionMetric(COCOMetric):
    """COCO mAP over box references; categories given, or taken from ``reference["categories"]``."""

    def __init__(self, categories: list[dict[str, Any]] | None = None, iou_type: str = "bbox") -> None:
        super().__init__(list(categories or []), iou_type)
        self.dropped = 0  # GT boxes left out (moved wholly out of the frame)
        self.source_ids: dict[str, Any] = {}  # sample id -> the data set's own image id (COCO files)

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        preds, refs, id_list = check_batch(predictions, references, ids)
        converted = []
        for k, ref in enumerate(refs):
            where = f"image {id_list[k] if id_list else k}"
            anns, dropped = reference_to_annotations(ref, where)
            self.dropped += dropped
            if not self.categories and ref.get("categories"):
                self.categories = [dict(c) for c in ref["categories"]]
            converted.append({"annotations": anns, **{f: ref[f] for f in ("width", "height") if f in ref}})
            if id_list and ref.get("image_id") is not None:
                self.source_ids[str(id_list[k])] = ref["image_id"]
        if not self.categories:
            raise InputError(None, "detection metric", "categories (metric args or reference['categories'])")
        super().update(preds, converted, id_list)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["dropped"] = self.dropped
        state["source_ids"] = dict(self.source_ids)
        return state

    def load_state_dict(self, state: Any) -> BoxDetectionMetric:
        super().load_state_dict(state)
        self.categories = [dict(c) for c in state["config"]["categories"]]
        self.dropped = int(state.get("dropped", 0))
        self.source_ids = dict(state.get("source_ids", {}))
        return self

    def merge(self, other: COCOMetric) -> BoxDetectionMetric:
        super().merge(other)
        self.dropped += getattr(other, "dropped", 0)
        self.source_ids.update(getattr(other, "source_ids", {}))
        if not self.categories:
            self.categories = list(other.categories)
        return self

    def compute(self, **kwargs: Any) -> ScoreResult:
        result = super().compute(**kwargs)
        if self.dropped:
            result.notes.append(f"{self.dropped} ground-truth box(es) moved wholly out of the frame by the "
                                "shift: left out of the ground truth")
        result.info["gt_boxes_out_of_frame"] = self.dropped
        return result
