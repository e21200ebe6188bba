"""COCO ground truth and detection results: loading and validation.

Every problem becomes one :class:`~gapbench.errors.InputError` naming the file, the record and
what was expected. Where pycocotools would silently accept input that gives a wrong number, we
refuse it instead:

* image ids in the detections that are not in the ground truth (pycocotools asserts), and ids
  that only match after a type change (GT ``"2299"`` vs detection ``2299``: faster-coco-eval
  silently casts, we say what mismatched);
* category ids in the detections that the ground truth does not declare (pycocotools silently
  drops those detections);
* ``score`` missing, non-numeric, NaN or infinite; ``bbox`` not four finite numbers;
* boxes with a **negative** width or height (the IoU of such a box is meaningless);
* duplicate image / category / annotation ids, and annotation id 0 (pycocotools uses annotation
  ids as match markers where 0 means "unmatched", so a match to GT id 0 is silently a miss);
* a GT annotation without ``area`` (the area ranges use the GT ``area`` field, not the box);
* for ``segm``, in the GT and the detections: an RLE whose ``size`` is not the image's
  ``[height, width]``, ``counts`` that do not decode to ``height * width`` pixels (see
  :mod:`gapbench.core.coco_masks`), polygons with fewer than 6 numbers, an odd count or
  non-finite coordinates (the engines decode masks unchecked: a wrong number or a crash).

Files are UTF-8 (a leading byte-order mark is ignored; a bad byte is named by line and offset).
In-memory detections may hold NumPy scalars and arrays wherever JSON has a number or a list
(``np.float32`` scores, ``np.int64`` ids, an array ``bbox``) and ``bytes`` RLE counts (as
``pycocotools.mask.encode`` returns them): such records are replaced, in the list given, by
plain-Python copies (the caller's dicts are not changed); booleans are still refused.

Accepted with a note: detection boxes of zero width or height (their IoU with any GT is 0, so
they are false positives, exactly as in pycocotools), and an empty detection list (every AP and
AR is 0 where the category has GT; pycocotools' ``loadRes`` raises on it).
"""
from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from gapbench.core.coco_format import IOU_TYPES, CocoInput, validate_dt, validate_gt
from gapbench.data.textfile import read_text
from gapbench.errors import InputError

__all__ = ["IOU_TYPES", "CocoInput", "load_coco", "read_json", "validate_dt", "validate_gt"]


def _name(src: Any, default: str) -> str:
    return str(src) if isinstance(src, (str, PathLike)) else default


def read_json(src: Any, default_name: str) -> tuple[Any, bool]:
    """Parse a path (or return an already-loaded object); ``(obj, owned)``."""
    if not isinstance(src, (str, PathLike)):
        return src, False
    path = Path(src)
    text = read_text(path)  # FileNotFoundError is reported by the CLI
    if not text.strip():
        raise InputError(path, None, "a JSON document", "an empty file")
    try:
        return json.loads(text), True
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"valid JSON ({exc.msg} at column {exc.colno})") from None


def load_coco(gt: Any, dt: Any, iou_type: str = "bbox") -> CocoInput:
    """Load (paths or objects) and validate COCO GT and detections."""
    if iou_type not in IOU_TYPES:
        raise InputError(None, None, f"iou_type one of {', '.join(IOU_TYPES)}", iou_type)
    gt_file, dt_file = _name(gt, "<ground truth>"), _name(dt, "<detections>")
    gt_obj, gt_owned = read_json(gt, gt_file)
    validate_gt(gt_obj, gt_file, iou_type)
    dt_obj, dt_owned = read_json(dt, dt_file)
    if not dt_owned and isinstance(dt_obj, list):
        dt_obj = list(dt_obj)  # validate_dt may replace records holding NumPy values
    if isinstance(dt_obj, dict) and "annotations" in dt_obj and isinstance(dt_obj["annotations"], list):
        raise InputError(dt_file, None, "a JSON list of detections (this looks like a ground-truth file)")
    notes = validate_dt(dt_obj, dt_file, gt_obj, gt_file, iou_type)
    return CocoInput(gt_obj, dt_obj, gt_file, dt_file, gt_owned and dt_owned, notes)
