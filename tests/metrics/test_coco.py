"""COCO mAP against pycocotools (computed here), on the real reference cases and adversarial ones.

The reported point values (12 stats and per-class AP) must equal pycocotools' bit for bit (``==``),
with and without the bootstrap: faster-coco-eval (the engine) stores a precision of exactly 1.0
where pycocotools computes 1/(1+eps) (tp=1, fp=0), which gapbench corrects. The resampled
re-accumulation itself is checked to 1e-12.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from coco_ref import (
    ATOL,
    assert_exact,
    assert_exact_everywhere,
    ones_stats,
    pyco_eval,
    pyco_stats,
    values,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapbench.core.predictions import Detections
from gapbench.data.coco import load_coco
from gapbench.errors import InputError
from gapbench.metrics.coco import COCOMetric, run_engine
from gapbench.metrics.coco_accumulate import Accumulator, Matched
from gapbench.metrics.coco_exact import (
    ONE_TP,
    exact_point_from_matching,
    lone_first_tp,
)
from gapbench.metrics.intervals import resample_counts
from gapbench.scoring.coco import score_coco


def stable_json(res: Any) -> dict[str, Any]:
    js = res.to_json()
    js["info"].pop("timing_s", None)
    return js


def assert_same(ours: np.ndarray, ref: np.ndarray, atol: float = ATOL) -> None:
    assert np.array_equal(np.isnan(ours), np.isnan(ref)), (ours, ref)
    np.testing.assert_allclose(np.nan_to_num(ours), np.nan_to_num(ref), rtol=0, atol=atol)


REAL = [
    ("real_val2014_100", "gt.json", "dt_bbox.json", "bbox"),
    ("real_val2014_100", "gt.json", "dt_segm.json", "segm"),
    ("real_fcoco_small", "gt.json", "dt.json", "bbox"),
    ("real_fcoco_small", "gt.json", "dt.json", "segm"),
    ("real_fcoco_ignore", "gt.json", "dt.json", "bbox"),
]


@pytest.mark.parametrize(("case", "gt", "dt", "iou"), REAL)
def test_real_cases_match_pycocotools(refdata: Path, case: str, gt: str, dt: str, iou: str) -> None:
    g, d = refdata / "coco" / case / gt, refdata / "coco" / case / dt
    assert_exact_everywhere(g, d, iou)
    boot, eng, _ = ones_stats(g, d, iou)
    assert_same(boot, eng)  # the bootstrap's all-ones resample reproduces the stats (to 1e-12)


def test_engine_one_ulp_difference_is_corrected(refdata: Path) -> None:
    """The known case: faster-coco-eval's APs is one ulp above pycocotools'; gapbench's is not."""
    d = refdata / "coco" / "real_val2014_100"
    g, s = d / "gt.json", d / "dt_segm.json"
    ref = pyco_stats(g, s, "segm")
    ev = run_engine(load_coco(g, s, "segm"), "segm")
    assert ev.stats[3] != ref[3]  # the engine is 1 ulp off ...
    res = score_coco(g, s, iou_type="segm", ci=False)
    assert res.metrics["APs"].value == ref[3] == 0.3873740315997837  # ... the reported value is not
    bbox = score_coco(g, d / "dt_bbox.json", ci=False)
    assert bbox.metrics["AP50"].value == pyco_stats(g, d / "dt_bbox.json")[1]


def test_long_walk_falls_back_to_the_full_matching(refdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gapbench.metrics.coco_exact as cb

    d = refdata / "coco" / "real_val2014_100"
    want = pyco_stats(d / "gt.json", d / "dt_bbox.json")
    ev = run_engine(load_coco(d / "gt.json", d / "dt_bbox.json", "bbox"), "bbox")
    has_one = (np.asarray(ev.eval["precision"])[..., -1] == 1.0).any(1).transpose(1, 2, 0)
    assert lone_first_tp(ev, has_one, limit=0) is None
    monkeypatch.setattr(cb, "_WALK_LIMIT", 0)
    called = []

    def spy(*args: Any) -> Any:
        called.append(1)
        return exact_point_from_matching(*args)

    monkeypatch.setattr(cb, "exact_point_from_matching", spy)
    assert_exact(values(score_coco(d / "gt.json", d / "dt_bbox.json", ci=False)), want)
    assert called  # the real case has segments (npig > 100) that need the walk


def lone_tp_case() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Category 1: first detection TP, second FP (pycocotools' precision 1/(1+eps) survives the
    envelope); category 2: first two TP (1.0); category 3: first detection matched to a crowd GT
    (ignored), then TP, then FP (the lone TP is the first *non-ignored* detection)."""
    images = [{"id": i, "width": 200, "height": 200} for i in range(1, 7)]
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    anns: list[dict[str, Any]] = []

    def gt(img: int, cat: int, box: list[float], crowd: int = 0) -> None:
        anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": box,
                     "area": box[2] * box[3], "iscrowd": crowd})

    dt: list[dict[str, Any]] = []

    def det(img: int, cat: int, box: list[float], score: float) -> None:
        dt.append({"image_id": img, "category_id": cat, "bbox": box, "score": score})

    gt(1, 1, [0, 0, 10, 10])
    gt(2, 1, [20, 20, 10, 10])
    gt(3, 1, [40, 40, 10, 10])
    det(1, 1, [0, 0, 10, 10], 0.95)  # TP
    det(2, 1, [100, 100, 10, 10], 0.9)  # FP
    det(2, 1, [20, 20, 10, 10], 0.5)  # TP
    det(3, 1, [40, 40, 10, 10], 0.4)  # TP
    gt(4, 2, [0, 0, 50, 50])
    gt(5, 2, [10, 10, 50, 50])
    det(4, 2, [0, 0, 50, 50], 0.8)  # TP
    det(5, 2, [10, 10, 50, 50], 0.7)  # TP
    det(5, 2, [120, 120, 50, 50], 0.6)  # FP
    gt(6, 3, [0, 0, 100, 100], crowd=1)
    gt(6, 3, [150, 150, 30, 30])
    gt(1, 3, [100, 100, 30, 30])
    det(6, 3, [0, 0, 90, 90], 0.99)  # matched to the crowd GT: ignored
    det(1, 3, [100, 100, 30, 30], 0.9)  # TP
    det(1, 3, [50, 150, 30, 30], 0.8)  # FP
    det(6, 3, [150, 150, 30, 30], 0.1)  # TP
    return {"images": images, "annotations": anns, "categories": cats}, dt


def test_lone_first_true_positive_keeps_one_over_one_plus_eps() -> None:
    gt, dt = lone_tp_case()
    ev = assert_exact_everywhere(gt, dt)
    ref = pyco_eval(gt, dt)
    prec = ref.eval["precision"][0, :, :, 0, -1]  # IoU .5, area all: (R, K)
    assert np.all(prec[:34, 0] == ONE_TP) and prec[34, 0] < ONE_TP  # recall <= 1/3: 1/(1+eps)
    assert np.all(prec[:67, 1] == 1.0)  # two leading TPs: exactly 1.0
    assert np.all(prec[:51, 2] == ONE_TP)  # ignored detection first: still the lone TP
    eng = np.asarray(ev.eval["precision"])[0, :, :, 0, -1]
    assert np.all(eng[:34, 0] == 1.0) and np.all(eng[:51, 2] == 1.0)  # where the engine differs
    assert not np.array_equal(np.asarray(ev.stats[:12]), np.asarray(ref.stats[:12]))


def test_weights_equal_duplicated_images(refdata: Path) -> None:
    """A resample re-accumulated with weights == pycocotools on the dataset with images copied."""
    d = refdata / "coco" / "real_val2014_100"
    gt = json.loads((d / "gt.json").read_text())
    dt = json.loads((d / "dt_bbox.json").read_text())
    rng = np.random.default_rng(1)
    for x in dt:
        x["score"] = float(rng.random())  # distinct scores: copies are adjacent in any order
    ev = run_engine(load_coco(gt, dt, "bbox"), "bbox")
    acc = Accumulator(Matched(ev))
    w = resample_counts(len(ev.params.imgIds), 1, seed=3)[0]
    got, _ = acc.stats(w[None].astype(np.int32))
    by_img: dict[int, tuple[list, list]] = {i["id"]: ([], []) for i in gt["images"]}
    for a in gt["annotations"]:
        by_img[a["image_id"]][0].append(a)
    for x in dt:
        by_img[x["image_id"]][1].append(x)
    images, anns, dets = [], [], []
    img_meta = {i["id"]: i for i in gt["images"]}
    for n, iid in enumerate(ev.params.imgIds):
        for _ in range(int(w[n])):
            new = len(images) + 1
            images.append(dict(img_meta[iid], id=new))
            anns += [dict(a, image_id=new, id=len(anns) + j + 1) for j, a in enumerate(by_img[iid][0])]
            dets += [dict(x, image_id=new) for x in by_img[iid][1]]
    ref = pyco_stats({"images": images, "annotations": anns, "categories": gt["categories"]}, dets)
    assert_same(got[0], ref, atol=1e-12)


def _per_image(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[list, list, list]:
    refs, preds, ids = [], [], []
    for img in gt["images"]:
        iid = img["id"]
        anns = [{k: v for k, v in a.items() if k not in ("id", "image_id")}
                for a in gt["annotations"] if a["image_id"] == iid]
        ds = [x for x in dt if x["image_id"] == iid]
        refs.append({"width": img.get("width"), "height": img.get("height"), "annotations": anns})
        preds.append(Detections(tuple(tuple(x["bbox"]) for x in ds), tuple(x["score"] for x in ds),
                                tuple(x["category_id"] for x in ds)))
        ids.append(iid)
    return refs, preds, ids


def test_shards_merge_to_the_one_shot_result(refdata: Path) -> None:
    d = refdata / "coco" / "real_val2014_100"
    gt = json.loads((d / "gt.json").read_text())
    dt = json.loads((d / "dt_bbox.json").read_text())
    refs, preds, ids = _per_image(gt, dt)
    one = COCOMetric(gt["categories"])
    one.update(preds, refs, ids)
    shards = [COCOMetric(gt["categories"]) for _ in range(3)]
    order = np.random.default_rng(0).permutation(len(ids))
    for j, i in enumerate(order):
        shards[j % 3].update([preds[i]], [refs[i]], [ids[i]])
    merged = shards[2].merge(shards[0]).merge(shards[1])
    r1, r2 = one.compute(bootstrap=100, seed=1), merged.compute(bootstrap=100, seed=1)
    assert stable_json(r1) == stable_json(r2)
    assert_exact(values(r1), pyco_stats(gt, dt))
    with pytest.raises(InputError):
        merged.merge(shards[0])


box = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))


@st.composite
def small_sets(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    n_img = draw(st.integers(1, 4))
    images = [{"id": i, "width": 100, "height": 100} for i in range(1, n_img + 1)]
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    anns, dets = [], []
    for img in range(1, n_img + 1):
        for x, y, w, h in draw(st.lists(box, max_size=4)):
            anns.append({"id": len(anns) + 1, "image_id": img, "category_id": draw(st.integers(1, 2)),
                         "bbox": [x * 8, y * 8, w * 8, h * 8],
                         "area": float(draw(st.sampled_from([w * h * 64, 1024, 9216, 500, 20000]))),
                         "iscrowd": int(draw(st.integers(0, 5)) == 0)})
        for x, y, w, h in draw(st.lists(box, max_size=6)):
            dets.append({"image_id": img, "category_id": draw(st.integers(1, 3)),
                         "bbox": [x * 8 + draw(st.integers(-3, 3)), y * 8, w * 8, h * 8],
                         "score": draw(st.sampled_from([0.1, 0.5, 0.5, 0.9]))})
    return {"images": images, "annotations": anns, "categories": cats}, dets


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_sets())
def test_property_pycocotools_and_shards(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    gt, dt = case
    res = score_coco(gt, dt, ci=False)
    if dt:
        assert_exact_everywhere(gt, dt, ci=len(gt["images"]) >= 2)
        boot, eng, _ = ones_stats(gt, dt)
        assert_same(boot, eng)
    refs, preds, ids = _per_image(gt, dt)
    one = COCOMetric(gt["categories"])
    one.update(preds, refs, ids)
    a, b = COCOMetric(gt["categories"]), COCOMetric(gt["categories"])
    a.update(preds[1::2], refs[1::2], ids[1::2])
    b.update(preds[::2], refs[::2], ids[::2])
    merged = a.merge(b).compute(ci=False)
    assert stable_json(merged) == stable_json(one.compute(ci=False))
    assert_exact(values(merged), values(res))
