"""COCO's format as values: the validated input the COCO metric scores, and the one-line checks
of ground-truth dicts and detection lists (boxes, ids, masks). Loading files is gapbench.data.coco's
job; these checks take what was loaded (or built in memory)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gapbench.core.coco_masks import bad_rle_strings, rle_problem
from gapbench.errors import InputError

IOU_TYPES = ("bbox", "segm", "keypoints")
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


def _is_num(x: Any) -> bool:
    return type(x) in _NUM


def _finite(x: Any) -> bool:
    return type(x) in _NUM and math.isfinite(x)


def _check_box(box: Any, file: str, rec: str, what: str) -> None:
    if not (isinstance(box, list) and len(box) == 4 and all(_finite(v) for v in box)):
        raise InputError(file, rec, f"{what} as a list of four finite numbers [x, y, w, h]", box)
    if box[2] < 0 or box[3] < 0:
        raise InputError(file, rec, f"{what} with non-negative width and height", box)


class _Masks:
    """RLE strings met while checking one file, checked together (vectorised) at the end."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.recs: list[str] = []
        self.strings: list[str] = []
        self.totals: list[int] = []
        self.order: list[int] = []

    def add(self, order: int, rec: str, counts: str, total: int) -> None:
        self.order.append(order)
        self.recs.append(rec)
        self.strings.append(counts)
        self.totals.append(total)

    def check(self, before: int | None = None) -> None:
        """Raise for the first bad string (only those met before record ``before``)."""
        n = len(self.strings) if before is None else sum(1 for o in self.order if o < before)
        bad = bad_rle_strings(self.strings[:n], self.totals[:n])
        if bad:
            j = bad[0]
            problem = rle_problem(self.strings[j], self.totals[j]) or "it does not decode"
            raise InputError(self.file, self.recs[j], "'counts' a compressed COCO RLE of the image's "
                             f"height*width pixels ({problem})", self.strings[j])


def _is_count(x: Any) -> bool:
    return type(x) is int and x >= 0


def _check_segm(
    seg: Any, file: str, rec: str, hw: tuple[Any, Any] | None, masks: _Masks, order: int,
    *, polygons: bool = True, list_counts: bool = True,
) -> None:
    if isinstance(seg, dict):
        if "counts" not in seg or "size" not in seg:
            raise InputError(file, rec, "an RLE segmentation with 'counts' and 'size'", sorted(seg))
        size, counts = seg["size"], seg["counts"]
        if not (isinstance(size, list) and len(size) == 2 and all(_is_count(v) for v in size)):
            raise InputError(file, rec, "RLE 'size' as [height, width], two non-negative integers", size)
        if hw is not None and (size[0] != hw[0] or size[1] != hw[1]):
            raise InputError(file, rec, f"RLE 'size' equal to the image's [height, width] = "
                             f"[{hw[0]:g}, {hw[1]:g}]", size)
        total = size[0] * size[1]
        if type(counts) is str:
            masks.add(order, rec, counts, total)
        elif isinstance(counts, list) and list_counts:
            if not all(_is_count(v) for v in counts) or sum(counts) != total:
                got = f"sum {sum(counts)}" if all(_is_count(v) for v in counts) else counts
                raise InputError(file, rec, "uncompressed RLE 'counts': non-negative integers summing to "
                                 f"height*width = {total}", got)
        elif isinstance(counts, list):
            raise InputError(file, rec, "RLE 'counts' as a compressed string (pycocotools.mask.encode); "
                             "the engine cannot read a counts list in detections without a 'bbox'",
                             type(counts).__name__)
        else:
            raise InputError(file, rec, "RLE 'counts' as a compressed string or a list of integers", counts)
    elif isinstance(seg, list) and polygons:
        if not seg:
            raise InputError(file, rec, "polygon segmentation: at least one polygon", seg)
        for poly in seg:
            if not (isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0
                    and all(type(v) in _NUM for v in poly) and math.isfinite(math.fsum(poly))):
                raise InputError(file, rec, "polygon segmentation: lists of >= 3 (x, y) pairs of "
                                 "finite numbers (an even count >= 6)", poly)
    elif isinstance(seg, list):
        raise InputError(file, rec, "an RLE segmentation dict (or a 'bbox')", type(seg).__name__)
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
    sizes: dict[Any, tuple[Any, Any]] = {}
    for i, img in enumerate(gt["images"]):
        rec = f"images index {i}"
        if not isinstance(img, dict) or "id" not in img:
            raise InputError(file, rec, "an image object with an 'id'", img)
        iid = img["id"]
        if type(iid) not in (int, str):
            raise InputError(file, rec, "an integer image id", iid)
        if iid in img_ids:
            raise InputError(file, f"{rec} (id {iid!r})", "unique image ids (duplicate)")
        if iou_type == "segm":
            if not (_finite(img.get("height")) and _finite(img.get("width"))):
                raise InputError(file, f"{rec} (id {iid!r})", "'height' and 'width' (needed for segm)")
            sizes[iid] = (img["height"], img["width"])
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
    geom = {"bbox": "bbox", "segm": "segmentation"}.get(iou_type, iou_type)
    masks = _Masks(file)
    for i, ann in enumerate(gt["annotations"]):
        try:
            _check_annotation(i, ann, file, iou_type, geom, img_ids, cat_ids, ann_ids, sizes, masks)
        except InputError:
            masks.check(before=i)  # a bad mask in an earlier record is the first error
            raise
    masks.check()


def _check_annotation(
    i: int, ann: Any, file: str, iou_type: str, geom: str, img_ids: set[Any], cat_ids: set[Any],
    ann_ids: set[Any], sizes: dict[Any, tuple[Any, Any]], masks: _Masks,
) -> None:
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
        _check_segm(ann["segmentation"], file, rec, sizes.get(ann["image_id"]), masks, i)
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
    """Check a detection list against the GT; return notes (zero-size boxes).

    Records holding NumPy values (or ``bytes`` RLE counts) are replaced in ``dt`` by
    plain-Python copies first (see the module docstring)."""
    if not isinstance(dt, list):
        raise InputError(file, None, "a JSON list of detections", type(dt).__name__)
    img_ids = {img["id"] for img in gt["images"]}
    cat_ids = {cat["id"] for cat in gt["categories"]}
    if dt:
        dt[0] = _plain_record(dt[0])
    first = dt[0] if dt and isinstance(dt[0], dict) else {}
    # the engine's loadRes: boxes when the first record has a non-empty 'bbox', else masks
    use_box = iou_type == "bbox" or ("bbox" in first and first["bbox"] != [])
    n_zero = _fast_check(dt, img_ids, cat_ids) if iou_type == "bbox" else None
    if n_zero is None:  # something is wrong (or numpy, or segm): the record-by-record check
        sizes = {img["id"]: (img.get("height"), img.get("width")) for img in gt["images"]}
        n_zero = _slow_check(dt, file, img_ids, cat_ids, gt_file, use_box, iou_type, sizes)
    notes = []
    if n_zero:
        notes.append(f"{n_zero} detection(s) have a box of zero width or height; "
                     "they overlap nothing and count as false positives (as in pycocotools)")
    if not dt:
        notes.append("no detections: every AP and AR is 0 for categories with ground truth")
    return notes


def _plain(v: Any) -> Any:
    """``v`` with NumPy scalars/arrays (and ``bytes``) as plain Python; ``v`` itself if none."""
    t = type(v)
    if t is int or t is float or t is str:
        return v
    if t is list:
        out = [_plain(x) for x in v]
        return v if all(a is b for a, b in zip(out, v)) else out
    if t is dict:
        new = {k: _plain(x) for k, x in v.items()}
        return v if all(new[k] is x for k, x in v.items()) else new
    if t is bytes:
        try:
            return v.decode("ascii")
        except UnicodeDecodeError:
            return v
    module = getattr(t, "__module__", "")
    if module == "numpy" and hasattr(v, "tolist"):
        return _plain(v.tolist())  # np.generic.tolist() is the Python scalar; np.bool_ -> bool
    return v


def _plain_record(d: Any) -> Any:
    return _plain(d) if type(d) is dict else d


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
    dt: list[Any], file: str, img_ids: set[Any], cat_ids: set[Any], gt_file: str, use_box: bool,
    iou_type: str, sizes: dict[Any, tuple[Any, Any]],
) -> int:
    masks = _Masks(file)
    n_zero = 0
    for i in range(len(dt)):
        try:
            d = dt[i] = _plain_record(dt[i])
            n_zero += _check_detection(i, d, file, img_ids, cat_ids, gt_file, use_box, iou_type, sizes, masks)
        except InputError:
            masks.check(before=i)  # a bad mask in an earlier record is the first error
            raise
    masks.check()
    return n_zero


def _check_detection(
    i: int, d: Any, file: str, img_ids: set[Any], cat_ids: set[Any], gt_file: str, use_box: bool,
    iou_type: str, sizes: dict[Any, tuple[Any, Any]], masks: _Masks,
) -> int:
    """Check one detection; 1 if its box has zero width or height, else 0."""
    rec = f"detection index {i}"
    if not isinstance(d, dict):
        raise InputError(file, rec, "a detection object", d)
    for key in ("image_id", "category_id", "score"):
        if key not in d:
            raise InputError(file, rec, f"a '{key}' field")
    if type(d["image_id"]) not in (int, str):  # 3.0 == 3 would pass the lookup
        raise InputError(file, rec, "an integer (or string) image_id", d["image_id"])
    if d["image_id"] not in img_ids:
        raise _id_mismatch(file, rec, d["image_id"], img_ids, "image_id", gt_file)
    if type(d["category_id"]) is not int:
        raise InputError(file, rec, "an integer category_id", d["category_id"])
    if d["category_id"] not in cat_ids:
        raise _id_mismatch(file, rec, d["category_id"], cat_ids, "category_id", gt_file)
    s = d["score"]
    if not _finite(s):
        raise InputError(file, rec, "'score' as a finite number", s)
    zero = 0
    if use_box:
        if "bbox" not in d:
            raise InputError(file, rec, "a 'bbox' field (like the first detection)")
    elif iou_type == "segm" and "segmentation" not in d:
        raise InputError(file, rec, "a 'segmentation' field (or a 'bbox')")
    if "bbox" in d and (use_box or iou_type == "segm"):
        box = d["bbox"]
        _check_box(box, file, rec, "'bbox'")
        zero = int(box[2] == 0 or box[3] == 0) if use_box else 0
    if iou_type == "segm" and "segmentation" in d:
        _check_segm(d["segmentation"], file, rec, sizes.get(d["image_id"]), masks, i,
                    polygons=use_box, list_counts=use_box)
    return zero


