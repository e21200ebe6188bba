"""scoring.coco.score_coco against pycocotools: published numbers, ids, adversarial input, intervals, records."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from coco_ref import (
    ATOL,
    assert_exact,
    assert_exact_everywhere,
    ones_stats,
    pyco_stats,
    values,
)
from hypothesis import strategies as st

from gapbench.errors import InputError
from gapbench.scoring.coco import score_coco


def assert_same(ours: np.ndarray, ref: np.ndarray, atol: float = ATOL) -> None:
    assert np.array_equal(np.isnan(ours), np.isnan(ref)), (ours, ref)
    np.testing.assert_allclose(np.nan_to_num(ours), np.nan_to_num(ref), rtol=0, atol=atol)


def test_published_numbers(refdata: Path) -> None:
    d = refdata / "coco" / "real_val2014_100"
    assert round(score_coco(d / "gt.json", d / "dt_bbox.json", ci=False).metrics["AP"].value, 3) == 0.505
    segm = score_coco(d / "gt.json", d / "dt_segm.json", iou_type="segm", ci=False)
    assert round(segm.metrics["AP"].value, 3) == 0.320
    # categories without GT: per-class null, reported in a note
    js = segm.to_json()
    assert any(v["value"] is None for v in js["per_class"].values())
    assert any("no ground truth" in n for n in segm.notes)


def test_string_image_id_is_a_clear_error(refdata: Path) -> None:
    d = refdata / "coco" / "real_fcoco_ignore"
    with pytest.raises(InputError) as exc:
        score_coco(d / "gt_original_string_image_id.json", d / "dt.json", ci=False)
    msg = str(exc.value)
    assert "gt_original_string_image_id.json" in msg and "'2299'" in msg and "[str]" in msg and "[int]" in msg


def test_consistent_string_ids_follow_pycocotools_order() -> None:
    gt, dt = adversarial_case()
    for img in gt["images"]:
        img["id"] = f"img{img['id']}"
    for a in gt["annotations"]:
        a["image_id"] = f"img{a['image_id']}"
    for d in dt:
        d["image_id"] = f"img{d['image_id']}"
    assert_exact(values(score_coco(gt, dt, ci=False)), pyco_stats(gt, dt))
    assert_exact(values(score_coco(gt, dt, bootstrap=20)), pyco_stats(gt, dt))


def adversarial_case() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Crowd GT, GT area unlike its box, ties across images, a category without GT, images
    without GT, > 100 detections per image, areas exactly 32**2 / 96**2, an ``ignore`` field."""
    rng = np.random.default_rng(7)
    images = [{"id": i, "width": 640, "height": 480} for i in range(1, 8)]
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3, 9)]  # 9: never in GT
    anns: list[dict[str, Any]] = []

    def add(img: int, cat: int, box: list[float], area: float | None = None, **kw: Any) -> None:
        anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": box,
                     "area": box[2] * box[3] if area is None else area, "iscrowd": 0, **kw})

    add(1, 1, [10, 10, 32, 32])  # area exactly 32**2 (small and medium)
    add(1, 1, [100, 100, 96, 96])  # area exactly 96**2 (medium and large)
    add(1, 2, [50, 50, 200, 200], iscrowd=1)  # crowd
    add(1, 2, [60, 60, 40, 40])
    add(2, 1, [0, 0, 50, 50], area=20.0)  # area far below the box: "small" by the area field
    add(2, 1, [300, 200, 60, 60], ignore=1)  # ignore=1 but not crowd: pycocotools uses it anyway
    add(2, 3, [10, 300, 120, 80])
    add(3, 1, [10, 10, 30, 30], iscrowd=1)
    add(3, 3, [200, 100, 20, 20])
    for _ in range(5):
        x, y = rng.uniform(0, 500, 2)
        add(4, 1, [float(x), float(y), 40.0, 40.0])
    # images 5, 6, 7: no GT at all
    dt: list[dict[str, Any]] = []

    def det(img: int, cat: int, box: list[float], score: float) -> None:
        dt.append({"image_id": img, "category_id": cat, "bbox": box, "score": score})

    for a in anns:  # a jittered hit per GT, equal scores across images (ties)
        x, y, w, h = a["bbox"]
        det(a["image_id"], a["category_id"], [x + 2, y + 1, w, h], 0.9)
        det(a["image_id"], a["category_id"], [x + 5, y - 3, w * 1.1, h * 0.9], 0.5)
    det(1, 1, [10, 10, 32, 32], 0.9)  # exact duplicate of a GT, tie with a hit
    det(1, 2, [55, 55, 100, 100], 0.7)  # inside the crowd region
    det(1, 2, [70, 70, 90, 90], 0.7)
    det(2, 9, [0, 0, 10, 10], 0.8)  # category without GT
    det(5, 1, [0, 0, 30, 30], 0.9)  # image without GT
    det(3, 3, [200, 100, 20, 20], 0.6)
    for _ in range(130):  # > 100 detections for one image and category
        x, y = rng.uniform(0, 500, 2)
        det(4, 1, [float(x), float(y), 40.0, 40.0], float(np.round(rng.uniform(0, 1), 1)))
    for i in range(20):
        det(6, 3, [float(i * 10), 0.0, 32.0, 32.0], 0.3)  # area exactly 32**2
    return {"images": images, "annotations": anns, "categories": cats}, dt


def test_adversarial_matches_pycocotools() -> None:
    gt, dt = adversarial_case()
    assert_exact_everywhere(gt, dt)
    res = score_coco(gt, dt, ci=False)
    boot, eng, _ = ones_stats(gt, dt)
    assert_same(boot, eng)
    assert res.groups["per_class"]["c9"].value != res.groups["per_class"]["c9"].value  # NaN


def test_input_objects_are_not_mutated() -> None:
    gt, dt = adversarial_case()
    before = (json.dumps(gt), json.dumps(dt))
    score_coco(gt, dt, bootstrap=20)
    assert (json.dumps(gt), json.dumps(dt)) == before


def test_zero_size_boxes_count_as_false_positives_with_a_note() -> None:
    gt, dt = adversarial_case()
    dt.append({"image_id": 1, "category_id": 1, "bbox": [10, 10, 0, 32], "score": 0.95})
    res = score_coco(gt, dt, ci=False)
    assert_exact(values(res), pyco_stats(gt, dt))
    assert any("zero width or height" in n for n in res.notes)


def test_empty_detection_list_scores_zero() -> None:
    gt, _ = adversarial_case()
    res = score_coco(gt, [], bootstrap=50)
    v = values(res)
    assert np.all(v[~np.isnan(v)] == 0.0)
    assert any("no detections" in n for n in res.notes)


def test_ci_brackets_and_is_reproducible(refdata: Path) -> None:
    d = refdata / "coco" / "real_val2014_100"
    a = score_coco(d / "gt.json", d / "dt_bbox.json", bootstrap=200, seed=5)
    b = score_coco(d / "gt.json", d / "dt_bbox.json", bootstrap=200, seed=5)
    c = score_coco(d / "gt.json", d / "dt_bbox.json", bootstrap=200, seed=6)
    for name in ("AP", "AP50", "AP75", "AR100", "APs", "APm", "APl"):
        lo, hi = a.metrics[name].ci95
        assert lo <= a.metrics[name].value <= hi, name
        assert a.metrics[name].ci95 == b.metrics[name].ci95
    assert a.metrics["AP"].ci95 != c.metrics["AP"].ci95
    assert a.groups["per_class"]["person"].ci95 is not None
    assert a.info["resamples"] == 200
    none = score_coco(d / "gt.json", d / "dt_bbox.json", ci=False)
    assert all(m.ci95 is None for m in none.metrics.values())


def test_intervals_inside_unit_range_contain_value_or_say_why(refdata: Path) -> None:
    """The 100-image val2014 case had per-class intervals outside [0, 1] (airplane, book,
    microwave) and zero-width ones (sheep) before BC: every interval now lies in [0, 1] and
    contains its value, and every class without one is named in a note."""
    d = refdata / "coco" / "real_val2014_100"
    res = score_coco(d / "gt.json", d / "dt_bbox.json", bootstrap=1000, seed=0)
    pairs = list(res.metrics.items()) + list(res.groups["per_class"].items())
    for name, mv in pairs:
        if mv.ci95 is not None:
            lo, hi = mv.ci95
            assert 0.0 <= lo <= mv.value <= hi <= 1.0, (name, mv)
            assert hi > lo, name
    per_class = res.groups["per_class"]
    for name in ("sheep", "cow", "suitcase", "umbrella"):  # in one or two images
        assert per_class[name].ci95 is None
        assert any(name in n and "no per-class interval" in n for n in res.notes), name
    missing = [k for k, mv in per_class.items() if mv.value is not None and not math.isnan(mv.value)
               and mv.ci95 is None]
    note = next(n for n in res.notes if "no per-class interval" in n)
    assert f"for {len(missing)} classes" in note
    for name in ("airplane", "book", "microwave", "person"):
        assert per_class[name].ci95 is not None


box = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6))


def test_per_image_records_count_what_was_scored(refdata) -> None:
    import json

    from gapbench.scoring.coco import score_coco

    base = refdata / "coco" / "real_val2014_100"
    gt = json.loads((base / "gt.json").read_text())
    dt = json.loads((base / "dt_bbox.json").read_text())
    result = score_coco(gt, dt, ci=False)
    assert len(result.records) == len(gt["images"])
    assert sum(r["gt"] + r["crowd"] for r in result.records) == len(gt["annotations"])
    assert sum(r["crowd"] for r in result.records) == sum(a["iscrowd"] for a in gt["annotations"])
    assert sum(r["detections"] for r in result.records) == len(dt)
