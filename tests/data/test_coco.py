"""COCO loading: byte-order marks, non-UTF-8 files, malformed masks and NumPy values in memory."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gapbench.core.coco_masks import bad_rle_strings, rle_problem, rle_runs
from gapbench.data.coco import load_coco
from gapbench.errors import InputError

BOM = b"\xef\xbb\xbf"
METRIC_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


@pytest.fixture(scope="module")
def val(refdata: Path) -> Path:
    return refdata / "coco" / "real_val2014_100"


@pytest.fixture(scope="module")
def segm(val: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return json.loads((val / "gt.json").read_text()), json.loads((val / "dt_segm.json").read_text())


def _dump(tmp_path: Path, name: str, obj: Any) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p


def _error(gt: Any, dt: Any, iou_type: str = "segm") -> str:
    with pytest.raises(InputError) as info:
        load_coco(gt, dt, iou_type)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def pyco_stats(gt: Any, dt: Any, iou_type: str) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO()
        cgt.dataset = copy.deepcopy(gt)
        cgt.createIndex()
        ev = COCOeval(cgt, cgt.loadRes(copy.deepcopy(dt)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats[:12]]


# 1. byte-order mark, 3. non-UTF-8


@pytest.mark.parametrize(("case", "dt"), [("real_val2014_100", "dt_bbox.json"), ("real_fcoco_small", "dt.json")])
def test_byte_order_mark_is_ignored(refdata: Path, tmp_path: Path, case: str, dt: str) -> None:
    src = refdata / "coco" / case
    (tmp_path / "gt.json").write_bytes(BOM + (src / "gt.json").read_bytes())
    (tmp_path / "dt.json").write_bytes(BOM + (src / dt).read_bytes())
    ours = load_coco(tmp_path / "gt.json", tmp_path / "dt.json")
    clean = load_coco(src / "gt.json", src / dt)
    assert ours.gt == clean.gt and ours.dt == clean.dt and ours.notes == clean.notes


def test_non_utf8_json_names_line_and_offset(val: Path, tmp_path: Path) -> None:
    data = (val / "gt.json").read_bytes()
    at = data.index(b'"file_name"')
    (tmp_path / "gt.json").write_bytes(data[:at] + b"\xe9" + data[at + 1 :])
    line = data.count(b"\n", 0, at) + 1
    msg = _error(tmp_path / "gt.json", val / "dt_bbox.json", "bbox")
    assert msg == f"{tmp_path / 'gt.json'}: line {line}: expected UTF-8 text, got 'byte 0xe9 at byte offset {at}'"


# 4. malformed masks


def test_real_masks_decode_to_the_image_size(segm: Any) -> None:
    gt, dt = segm
    sizes = {img["id"]: img["height"] * img["width"] for img in gt["images"]}
    strings = [d["segmentation"]["counts"] for d in dt]
    totals = [sizes[d["image_id"]] for d in dt]
    assert bad_rle_strings(strings, totals) == []
    assert all(sum(rle_runs(s)) == t for s, t in zip(strings, totals))
    inp = load_coco(gt, dt, "segm")
    assert inp.dt == dt


def test_decoder_matches_pycocotools(segm: Any) -> None:
    from pycocotools import mask as mask_utils

    for d in segm[1][:40]:
        flat = mask_utils.decode(d["segmentation"]).flatten(order="F")
        edges = np.concatenate(([0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]))
        runs = ([0] if flat[0] else []) + np.diff(edges).tolist()
        assert rle_runs(d["segmentation"]["counts"]) == runs


def test_vectorised_check_agrees_with_the_decoder_on_corrupted_masks(segm: Any) -> None:
    gt, dt = segm
    sizes = {img["id"]: img["height"] * img["width"] for img in gt["images"]}
    rng = random.Random(0)
    alphabet = [chr(c) for c in range(40, 120)]
    strings, totals = [], []
    for _ in range(2000):
        d = rng.choice(dt)
        s, total = list(d["segmentation"]["counts"]), sizes[d["image_id"]]
        r = rng.random()
        if r < 0.3:
            for _ in range(rng.randint(1, 3)):
                s[rng.randrange(len(s))] = rng.choice(alphabet)
        elif r < 0.45:
            s = s[: rng.randrange(len(s))]
        elif r < 0.55:
            total += rng.choice([-1, 1])
        elif r < 0.65:
            s = [rng.choice(alphabet) for _ in range(rng.randint(0, 9))]
        strings.append("".join(s))
        totals.append(total)
    expected = [i for i, (s, t) in enumerate(zip(strings, totals)) if rle_problem(s, t)]
    assert 300 < len(expected) < 2000
    assert bad_rle_strings(strings, totals) == expected


def _bad_dt(segm: Any, k: int, **seg: Any) -> list[dict[str, Any]]:
    dt = copy.deepcopy(segm[1])
    dt[k]["segmentation"] = {**dt[k]["segmentation"], **seg}
    return dt


def test_rle_size_must_be_the_images(segm: Any, tmp_path: Path) -> None:
    gt, _ = segm
    dt = _bad_dt(segm, 5, size=[640, 478])
    msg = _error(_dump(tmp_path, "gt.json", gt), _dump(tmp_path, "dt.json", dt))
    assert msg.startswith(f"{tmp_path / 'dt.json'}: detection index 5: expected RLE 'size' equal to the image's")
    assert msg.endswith("got [640, 478]")
    assert "detection index 7: expected RLE 'size' as [height, width]" in _error(gt, _bad_dt(segm, 7, size=[478]))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: s[:10] + "~" + s[11:], "character '~' at position 10 is not in '0'..'o'"),
        (lambda s: s + "1", "its runs sum to"),
        (lambda s: s + "0", "its runs sum to"),
        (lambda s: s + "P", "the string ends inside a run"),
        (lambda s: "", "its runs sum to 0 pixels"),
        (lambda s: "o" * 12, "a run longer than 7 characters"),
    ],
)
def test_garbage_rle_counts(segm: Any, change: Any, why: str) -> None:
    dt = _bad_dt(segm, 3, counts=change(segm[1][3]["segmentation"]["counts"]))
    msg = _error(segm[0], dt)
    assert msg.startswith("<detections>: detection index 3: expected 'counts' a compressed COCO RLE")
    assert why in msg


def test_first_bad_record_is_reported(segm: Any) -> None:
    dt = _bad_dt(segm, 3, counts="zz")
    del dt[9]["score"]
    assert "detection index 3:" in _error(segm[0], dt)
    dt = _bad_dt(segm, 12, counts="zz")
    del dt[9]["score"]
    assert "detection index 9: expected a 'score' field" in _error(segm[0], dt)


def test_detection_counts_must_be_a_string_without_bbox(segm: Any) -> None:
    dt = _bad_dt(segm, 2, counts=[0, 306080])
    assert "detection index 2: expected RLE 'counts' as a compressed string" in _error(segm[0], dt)


def _ann_index(gt: dict[str, Any], crowd: bool) -> int:
    return next(i for i, a in enumerate(gt["annotations"]) if isinstance(a["segmentation"], dict) is crowd)


def test_gt_masks_are_checked(segm: Any) -> None:
    gt, dt = segm
    k = _ann_index(gt, crowd=True)
    aid = gt["annotations"][k]["id"]
    bad = copy.deepcopy(gt)
    bad["annotations"][k]["segmentation"]["counts"][-1] += 1
    msg = _error(bad, dt)
    assert msg.startswith(f"<ground truth>: annotation index {k} (id {aid}): expected uncompressed RLE 'counts'")
    bad = copy.deepcopy(gt)
    h, w = bad["annotations"][k]["segmentation"]["size"]
    bad["annotations"][k]["segmentation"]["size"] = [h + 1, w]
    assert f"annotation index {k} (id {aid}): expected RLE 'size' equal to the image's" in _error(bad, dt)


@pytest.mark.parametrize(
    ("poly", "ok"),
    [
        ([1.0, 2.0, 3.0, 4.0], False),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], False),
        ([1.0, 2.0, 3.0, math.nan, 5.0, 6.0], False),
        ([1.0, 2.0, 3.0, math.inf, 5.0, 6.0], False),
        ([1.0, 2.0, 3.0, "4", 5.0, 6.0], False),
        ([1.0, 2.0, 3.0, True, 5.0, 6.0], False),
        ([1, 2.5, 30, 4, 5, 60], True),
    ],
)
def test_polygons(segm: Any, poly: list[Any], ok: bool) -> None:
    gt, dt = segm
    k = _ann_index(gt, crowd=False)
    bad = copy.deepcopy(gt)
    bad["annotations"][k]["segmentation"] = [poly]
    if ok:
        load_coco(bad, dt, "segm")
        return
    msg = _error(bad, dt)
    assert f"annotation index {k} (id {bad['annotations'][k]['id']}): expected polygon segmentation" in msg
    # detections with a box may carry polygons too (the engine rasterises them)
    boxed = [dict(d, bbox=[1.0, 2.0, 3.0, 4.0]) for d in dt[:3]]
    boxed[1]["segmentation"] = [poly]
    assert "detection index 1: expected polygon segmentation" in _error(gt, boxed)


def test_segm_detections_with_boxes_still_check_their_masks(segm: Any) -> None:
    gt, dt = segm
    boxed = [dict(d, bbox=[1.0, 2.0, 3.0, 4.0]) for d in dt]
    boxed[4]["segmentation"] = {**boxed[4]["segmentation"], "size": [1, 1]}
    assert "detection index 4: expected RLE 'size' equal" in _error(gt, boxed)


# 5. NumPy values in memory


def _numpy_dt(dt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for d in dt:
        n = dict(d, image_id=np.int64(d["image_id"]), category_id=np.int64(d["category_id"]),
                 score=np.float32(d["score"]))
        if "bbox" in d:
            n["bbox"] = np.asarray(d["bbox"], dtype=np.float32)
        out.append(n)
    return out


def _plain_of(dt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the NumPy values mean in plain Python (float32 widened exactly to float)."""
    out = []
    for d in dt:
        n = dict(d, image_id=int(d["image_id"]), category_id=int(d["category_id"]), score=float(d["score"]))
        if "bbox" in d:
            n["bbox"] = [float(v) for v in d["bbox"]]
        out.append(n)
    return out


@pytest.mark.parametrize(("name", "iou_type"), [("dt_bbox.json", "bbox"), ("dt_segm.json", "segm")])
def test_numpy_detections_score_like_plain_python(val: Path, name: str, iou_type: str) -> None:
    from gapbench.scoring.coco import score_coco

    gt = json.loads((val / "gt.json").read_text())
    dt_np = _numpy_dt(json.loads((val / name).read_text()))
    if iou_type == "segm":
        for d in dt_np:
            d["segmentation"] = dict(d["segmentation"], counts=d["segmentation"]["counts"].encode())
    before = [dict(d) for d in dt_np]
    res = score_coco(gt, dt_np, iou_type=iou_type, ci=False)
    plain = _plain_of(dt_np)
    if iou_type == "segm":
        for d in plain:
            d["segmentation"] = dict(d["segmentation"], counts=d["segmentation"]["counts"].decode())
    expected = pyco_stats(gt, plain, iou_type)
    assert [res.metrics[n].value for n in METRIC_NAMES] == expected
    assert all(a.keys() == b.keys() and all(a[k] is b[k] for k in a) for a, b in zip(before, dt_np))


def test_numpy_bools_and_bad_arrays_are_refused(val: Path) -> None:
    gt = json.loads((val / "gt.json").read_text())
    dt = _numpy_dt(json.loads((val / "dt_bbox.json").read_text())[:5])
    dt[2]["score"] = np.bool_(True)
    assert "detection index 2: expected 'score' as a finite number, got True" in _error(gt, dt, "bbox")
    dt[2]["score"] = np.float64(np.nan)
    assert "detection index 2: expected 'score' as a finite number, got nan" in _error(gt, dt, "bbox")
    dt[2]["score"] = 0.5
    dt[3]["bbox"] = np.zeros(5)
    assert "detection index 3: expected 'bbox' as a list of four finite numbers" in _error(gt, dt, "bbox")
    dt[3]["bbox"] = np.zeros(4)
    dt[4]["category_id"] = np.float64(1.0)
    assert "detection index 4: expected an integer category_id, got 1.0" in _error(gt, dt, "bbox")
    dt[4]["category_id"] = 1
    dt[0]["image_id"] = np.float64(dt[0]["image_id"])
    assert "detection index 0: expected an integer (or string) image_id, got 42.0" in _error(gt, dt, "bbox")
