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
* a GT annotation without ``area`` (the area ranges use the GT ``area`` field, not the box).

Accepted with a note: detection boxes of zero width or height (their IoU with any GT is 0, so
they are false positives, exactly as in pycocotools), and an empty detection list (every AP and
AR is 0 where the category has GT; pycocotools' ``loadRes`` raises on it).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from gapbench.errors import InputError

IOU_TYPES = ("bbox", "segm")
_NUM = (int, float)


@dataclass
class CocoInput:
    """Validated GT dict and detection list, plus the notes the user must see."""

    gt: dict[str, Any]
    dt: list[dict[str, Any]]
    gt_file: str
    dt_file: str
    owned: bool  # True when we parsed the files ourselves (safe to let the engine mutate them)
    notes: list[str] = field(default_factory=list)


def _name(src: Any, default: str) -> str:
    return str(src) if isinstance(src, (str, PathLike)) else default


def read_json(src: Any, default_name: str) -> tuple[Any, bool]:
    """Parse a path (or return an already-loaded object); ``(obj, owned)``."""
    if not isinstance(src, (str, PathLike)):
        return src, False
    path = Path(src)
    text = path.read_text(encoding="utf-8")  # FileNotFoundError is reported by the CLI
    if not text.strip():
        raise InputError(path, None, "a JSON document", "an empty file")
    try:
        return json.loads(text), True
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"valid JSON ({exc.msg} at column {exc.colno})") from None


def _is_num(x: Any) -> bool:
    return type(x) in _NUM


def _finite(x: Any) -> bool:
    return type(x) in _NUM and math.isfinite(x)


def _check_box(box: Any, file: str, rec: str, what: str) -> None:
    if not (isinstance(box, list) and len(box) == 4 and all(_finite(v) for v in box)):
        raise InputError(file, rec, f"{what} as a list of four finite numbers [x, y, w, h]", box)
    if box[2] < 0 or box[3] < 0:
        raise InputError(file, rec, f"{what} with non-negative width and height", box)


def _check_segm(seg: Any, file: str, rec: str) -> None:
    if isinstance(seg, dict):
        if "counts" not in seg or "size" not in seg:
            raise InputError(file, rec, "an RLE segmentation with 'counts' and 'size'", sorted(seg))
    elif isinstance(seg, list):
        if not seg or not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in seg):
            raise InputError(file, rec, "polygon segmentation: lists of >= 3 (x, y) pairs", seg)
    else:
        raise InputError(file, rec, "'segmentation' as polygons or an RLE dict", seg)


def validate_gt(gt: Any, file: str, iou_type: str) -> None:
    """Check a COCO GT dict in place; raise InputError on the first bad record."""
    if not isinstance(gt, dict):
        raise InputError(file, None, "a COCO ground-truth object with images, annotations, categories",
                         type(gt).__name__)
    for key in ("images", "annotations", "categories"):
        if key not in gt:
            raise InputError(file, None, f"a top-level '{key}' list")
        if not isinstance(gt[key], list):
            raise InputError(file, None, f"'{key}' to be a list", type(gt[key]).__name__)
    if not gt["images"]:
        raise InputError(file, None, "at least one entry in 'images'")
    img_ids: set[Any] = set()
    for i, img in enumerate(gt["images"]):
        rec = f"images index {i}"
        if not isinstance(img, dict) or "id" not in img:
            raise InputError(file, rec, "an image object with an 'id'", img)
        iid = img["id"]
        if type(iid) not in (int, str):
            raise InputError(file, rec, "an integer image id", iid)
        if iid in img_ids:
            raise InputError(file, f"{rec} (id {iid!r})", "unique image ids (duplicate)")
        if iou_type == "segm" and not (_is_num(img.get("height")) and _is_num(img.get("width"))):
            raise InputError(file, f"{rec} (id {iid!r})", "'height' and 'width' (needed for segm)")
        img_ids.add(iid)
    cat_ids: set[Any] = set()
    for i, cat in enumerate(gt["categories"]):
        rec = f"categories index {i}"
        if not isinstance(cat, dict) or "id" not in cat:
            raise InputError(file, rec, "a category object with an 'id'", cat)
        if type(cat["id"]) is not int:
            raise InputError(file, rec, "an integer category id", cat["id"])
        if cat["id"] in cat_ids:
            raise InputError(file, f"{rec} (id {cat['id']!r})", "unique category ids (duplicate)")
        cat_ids.add(cat["id"])
    ann_ids: set[Any] = set()
    geom = "bbox" if iou_type == "bbox" else "segmentation"
    for i, ann in enumerate(gt["annotations"]):
        if not isinstance(ann, dict):
            raise InputError(file, f"annotation index {i}", "an annotation object", ann)
        aid = ann.get("id")
        rec = f"annotation index {i} (id {aid!r})"
        for key in ("id", "image_id", "category_id", "area", geom):
            if key not in ann:
                raise InputError(file, rec, f"a '{key}' field")
        if type(aid) is not int or aid == 0:
            raise InputError(file, rec, "a non-zero integer annotation id "
                             "(pycocotools treats id 0 as 'unmatched')", aid)
        if aid in ann_ids:
            raise InputError(file, rec, "unique annotation ids (duplicate)")
        ann_ids.add(aid)
        if ann["image_id"] not in img_ids or type(ann["image_id"]) is bool:
            raise _id_mismatch(file, rec, ann["image_id"], img_ids, "image_id", "'images'", "annotation")
        if ann["category_id"] not in cat_ids or type(ann["category_id"]) is bool:
            raise _id_mismatch(file, rec, ann["category_id"], cat_ids, "category_id", "'categories'",
                               "annotation")
        if not _finite(ann["area"]) or ann["area"] < 0:
            raise InputError(file, rec, "'area' as a finite non-negative number", ann["area"])
        if "bbox" in ann:
            _check_box(ann["bbox"], file, rec, "'bbox'")
        if iou_type == "segm":
            _check_segm(ann["segmentation"], file, rec)
        crowd = ann.get("iscrowd", 0)
        if crowd not in (0, 1) or type(crowd) not in (int, bool):
            raise InputError(file, rec, "'iscrowd' 0 or 1", crowd)


def _id_mismatch(
    file: str, rec: str, value: Any, known: set[Any], what: str, where: str, here: str = "detection"
) -> InputError:
    """An unknown id: say so plainly, or point out a string-vs-int mismatch."""
    by_text = {str(k): k for k in known}
    twin = by_text.get(str(value))
    if twin is not None and type(twin) is not type(value):
        return InputError(
            file, rec,
            f"{what} of the same type as in {where} ({here} has {value!r} "
            f"[{type(value).__name__}], {where} has {twin!r} [{type(twin).__name__}]; "
            "fix the ids, gapbench does not cast them)",
        )
    return InputError(file, rec, f"a {what} present in {where}", value)


def validate_dt(dt: Any, file: str, gt: dict[str, Any], gt_file: str, iou_type: str) -> list[str]:
    """Check a detection list against the GT; return notes (zero-size boxes)."""
    if not isinstance(dt, list):
        raise InputError(file, None, "a JSON list of detections", type(dt).__name__)
    img_ids = {img["id"] for img in gt["images"]}
    cat_ids = {cat["id"] for cat in gt["categories"]}
    use_box = iou_type == "bbox" or (dt and isinstance(dt[0], dict) and dt[0].get("bbox"))
    n_zero = _fast_check(dt, img_ids, cat_ids) if use_box else None
    if n_zero is None:  # something is wrong (or segm): the record-by-record check says what
        n_zero = _slow_check(dt, file, img_ids, cat_ids, gt_file, use_box)
    notes = []
    if n_zero:
        notes.append(f"{n_zero} detection(s) have a box of zero width or height; "
                     "they overlap nothing and count as false positives (as in pycocotools)")
    if not dt:
        notes.append("no detections: every AP and AR is 0 for categories with ground truth")
    return notes


def _fast_check(dt: list[Any], img_ids: set[Any], cat_ids: set[Any]) -> int | None:
    """Vectorised validation of box detections: the count of zero-size boxes, or None if any
    record is bad (then :func:`_slow_check` finds and names it)."""
    import numpy as np

    if not dt:
        return 0
    try:
        imgs = [d["image_id"] for d in dt]
        cats = [d["category_id"] for d in dt]
        scores = [d["score"] for d in dt]
        boxes = [d["bbox"] for d in dt]
    except (KeyError, TypeError):
        return None
    id_types = {type(i) for i in img_ids} | {type(c) for c in cat_ids}
    if not ({type(i) for i in imgs} | {type(c) for c in cats}) <= id_types - {bool}:
        return None
    if not (set(imgs) <= img_ids and set(cats) <= cat_ids):
        return None
    if not {type(x) for x in scores} <= {int, float} or not {type(b) for b in boxes} <= {list}:
        return None
    if not np.isfinite(np.asarray(scores, dtype=float)).all():
        return None
    try:
        arr = np.asarray(boxes)
    except ValueError:  # ragged
        return None
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.dtype.kind not in "iuf":
        return None
    if not np.isfinite(arr).all() or (arr[:, 2:] < 0).any():
        return None
    return int(((arr[:, 2] == 0) | (arr[:, 3] == 0)).sum())


def _slow_check(
    dt: list[Any], file: str, img_ids: set[Any], cat_ids: set[Any], gt_file: str, use_box: Any
) -> int:
    n_zero = 0
    for i, d in enumerate(dt):
        rec = f"detection index {i}"
        if not isinstance(d, dict):
            raise InputError(file, rec, "a detection object", d)
        for key in ("image_id", "category_id", "score"):
            if key not in d:
                raise InputError(file, rec, f"a '{key}' field")
        if d["image_id"] not in img_ids or type(d["image_id"]) is bool:
            raise _id_mismatch(file, rec, d["image_id"], img_ids, "image_id", gt_file)
        if d["category_id"] not in cat_ids or type(d["category_id"]) is bool:
            raise _id_mismatch(file, rec, d["category_id"], cat_ids, "category_id", gt_file)
        s = d["score"]
        if not _finite(s):
            raise InputError(file, rec, "'score' as a finite number", s)
        if use_box:
            if "bbox" not in d:
                raise InputError(file, rec, "a 'bbox' field (like the first detection)")
            box = d["bbox"]
            _check_box(box, file, rec, "'bbox'")
            if box[2] == 0 or box[3] == 0:
                n_zero += 1
        else:
            if "segmentation" not in d:
                raise InputError(file, rec, "a 'segmentation' field (or a 'bbox')")
            seg = d["segmentation"]
            if not isinstance(seg, dict):
                raise InputError(file, rec, "an RLE segmentation dict (or a 'bbox')", type(seg).__name__)
            _check_segm(seg, file, rec)
    return n_zero


def load_coco(gt: Any, dt: Any, iou_type: str = "bbox") -> CocoInput:
    """Load (paths or objects) and validate COCO GT and detections."""
    if iou_type not in IOU_TYPES:
        raise InputError(None, None, f"iou_type one of {', '.join(IOU_TYPES)}", iou_type)
    gt_file, dt_file = _name(gt, "<ground truth>"), _name(dt, "<detections>")
    gt_obj, gt_owned = read_json(gt, gt_file)
    validate_gt(gt_obj, gt_file, iou_type)
    dt_obj, dt_owned = read_json(dt, dt_file)
    if isinstance(dt_obj, dict) and "annotations" in dt_obj and isinstance(dt_obj["annotations"], list):
        raise InputError(dt_file, None, "a JSON list of detections (this looks like a ground-truth file)")
    notes = validate_dt(dt_obj, dt_file, gt_obj, gt_file, iou_type)
    return CocoInput(gt_obj, dt_obj, gt_file, dt_file, gt_owned and dt_owned, notes)
