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
* ``segmentation``: the reference's ``segmentations[i]`` (COCO polygons or RLE) when it has them.
  Geometric shifts do not move masks: they drop ``segmentations`` and set
  ``segmentations_moved_by``, and :class:`InstanceSegMetric` then reports no segm values.

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
    segms = ref.get("segmentations")
    if len(labels) != len(boxes) or len(crowd) != len(boxes) or (areas is not None and len(areas) != len(boxes)) \
            or (segms is not None and len(segms) != len(boxes)):
        raise InputError(None, where, "as many labels (and iscrowd, areas, segmentations) as boxes",
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
        ann = {"bbox": [x, y, w, h], "category_id": int(label), "area": area, "iscrowd": int(crowd[i])}
        if segms is not None:
            ann["segmentation"] = segms[i]
        anns.append(ann)
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


class InstanceSegMetric(BoxDetectionMetric):
    """COCO ``segm`` mAP (pycocotools' ``COCOeval(iouType="segm")``) over the same references.

    It sits beside :class:`BoxDetectionMetric` in a task's ``metrics:``; its result kind is
    ``segm``, so the runner names its stats ``segm_AP``, ``segm_AP50``, ... next to the box ``AP``
    (and its per-class table ``segm_per_class``). Ground truth: the references' ``segmentations``;
    predictions: :class:`~gapbench.core.predictions.Detections` ``masks`` (compressed RLE). The
    detections are scored without their ``bbox`` so that, as in pycocotools' ``loadRes`` of a
    segmentation results file (and detectron2's segm evaluation), a detection's ``area`` is its
    mask's, not its box's (it decides the small/medium/large ranges).

    No values, with a note saying why, when there is nothing honest to score: the model returned no
    masks, the ground truth has none, or a geometric shift moved the image but not the masks. A
    run where some detections have masks and others do not is an error.
    """

    name = "segm"

    def __init__(self, categories: list[dict[str, Any]] | None = None, iou_type: str = "segm") -> None:
        if iou_type != "segm":
            raise InputError(None, "InstanceSegMetric", "iou_type 'segm'", iou_type)
        super().__init__(categories, "segm")
        self.moved_by: set[str] = set()  # geometric shifts that dropped the GT masks

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        id_list = list(ids) if ids is not None else [None] * len(references)
        for pred, ref, iid in zip(predictions, references, id_list):
            if not isinstance(ref, Mapping):
                continue
            if ref.get("segmentations_moved_by"):
                self.moved_by.add(str(ref["segmentations_moved_by"]))
            hw = [ref.get("height"), ref.get("width")]
            for k, m in enumerate(getattr(pred, "masks", ())):
                if None not in hw and list(m["size"]) != hw:
                    raise InputError(None, f"image {iid!r} mask {k}", f"a mask of the image's size [height, width] "
                                     f"= {hw}", list(m["size"]))
        super().update(predictions, references, ids)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "moved_by": sorted(self.moved_by)}

    def load_state_dict(self, state: Any) -> InstanceSegMetric:
        super().load_state_dict(state)
        self.moved_by = set(state.get("moved_by", []))
        return self

    def merge(self, other: COCOMetric) -> InstanceSegMetric:
        super().merge(other)
        self.moved_by |= getattr(other, "moved_by", set())
        return self

    def to_coco(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        gt, dets = super().to_coco()
        return gt, [{k: v for k, v in d.items() if k != "bbox"} for d in dets]

    def compute(self, **kwargs: Any) -> ScoreResult:
        gt, dets = self.to_coco()
        with_mask = sum(1 for d in dets if "segmentation" in d)
        if dets and 0 < with_mask < len(dets):
            raise InputError(None, "segm", "a mask for every detection, or for none",
                             f"{with_mask} of {len(dets)} detections with a mask")
        gt_without = sum(1 for a in gt["annotations"] if "segmentation" not in a)
        why = None
        if self.moved_by:
            why = (f"the geometric shift {', '.join(sorted(self.moved_by))} moves the images but not the "
                   "ground-truth masks")
        elif not with_mask:
            why = "the model returned no masks" if gt["annotations"] and not gt_without else None
        elif gt_without or not gt["annotations"]:
            why = "the ground truth has no segmentation for every annotation"
        if why is not None or not with_mask:
            notes = [f"segm not scored: {why}"] if why else []
            return ScoreResult("segm", {}, notes=notes)
        result = COCOMetric.compute(self, **kwargs)
        result.kind = "segm"
        result.groups = {f"segm_{k}": v for k, v in result.groups.items()}
        result.records = []  # the box metric's per-image rows already carry each detection's mask
        result.notes = [f"segm: {n}" for n in result.notes]  # told apart from the box metric's notes
        return result
