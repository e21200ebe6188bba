"""compare_coco against explicit resampling with pycocotools (images copied per draw)."""
from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gapbench.cli import main
from gapbench.errors import InputError
from gapbench.metrics import intervals as stats
from gapbench.scoring.coco import compare_coco, paired_coco_tests, score_coco

pytest.importorskip("pycocotools")


def _case(seed: int = 0, n_img: int = 24) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """GT boxes on ``n_img`` images, two detectors jittering them differently (distinct scores)."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 200, "height": 200} for i in range(n_img)]
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    anns: list[dict[str, Any]] = []
    for img in images:
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.uniform(0, 120, 2)
            w, h = rng.uniform(20, 70, 2)
            anns.append({"id": len(anns) + 1, "image_id": img["id"], "category_id": int(rng.integers(1, 3)),
                         "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h), "iscrowd": 0})

    def detector(jitter: float, miss: float) -> list[dict[str, Any]]:
        out = []
        for a in anns:
            if rng.random() < miss:
                continue
            x, y, w, h = a["bbox"]
            box = [x + rng.normal(0, jitter), y + rng.normal(0, jitter), w, h]
            out.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": box,
                        "score": float(rng.random())})
        for img in images[::3]:  # a few false positives
            out.append({"image_id": img["id"], "category_id": 1, "bbox": [5.0, 5.0, 30.0, 30.0],
                        "score": float(rng.random())})
        return out

    return {"images": images, "annotations": anns, "categories": cats}, detector(3.0, 0.1), detector(8.0, 0.25)


def _pyco_ap(gt: dict[str, Any], dt: list[dict[str, Any]], stat: int = 0) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO()
        cgt.dataset = copy.deepcopy(gt)
        cgt.createIndex()
        ev = COCOeval(cgt, cgt.loadRes(copy.deepcopy(dt)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[stat])


def _copied(gt: dict[str, Any], dt: list[dict[str, Any]], w: np.ndarray) -> tuple[dict[str, Any], list]:
    """The dataset with image k copied w[k] times (images in id order, as the engine orders them)."""
    images, anns, dets = [], [], []
    for k, img in enumerate(sorted(gt["images"], key=lambda i: i["id"])):
        for _ in range(int(w[k])):
            new = len(images) + 1
            images.append(dict(img, id=new))
            anns += [dict(a, image_id=new, id=len(anns) + j + 1)
                     for j, a in enumerate(x for x in gt["annotations"] if x["image_id"] == img["id"])]
            dets += [dict(d, image_id=new) for d in dt if d["image_id"] == img["id"]]
    return {"images": images, "annotations": anns, "categories": gt["categories"]}, dets


def test_compare_coco_equals_explicit_pycocotools_resampling() -> None:
    gt, dt_a, dt_b = _case()
    resamples, seed = 40, 7
    res = compare_coco(gt, dt_a, dt_b, bootstrap=resamples, seed=seed)
    assert res.a.value == pytest.approx(_pyco_ap(gt, dt_a), abs=1e-12)
    assert res.b.value == pytest.approx(_pyco_ap(gt, dt_b), abs=1e-12)
    counts = stats.resample_counts(len(gt["images"]), resamples, seed)
    diffs = []
    for w in counts:  # the same draw for both systems
        ga, da = _copied(gt, dt_a, w)
        gb, db = _copied(gt, dt_b, w)
        diffs.append(_pyco_ap(ga, da) - _pyco_ap(gb, db))
    diffs_arr = np.array(diffs)
    lo, hi = stats.percentile_interval(diffs_arr)
    assert res.diff.ci95 == pytest.approx((lo, hi), abs=1e-9)
    observed = res.a.value - res.b.value
    extreme = np.count_nonzero(np.abs(diffs_arr - observed) >= abs(observed) - 1e-15)
    assert res.p_value == pytest.approx((1 + extreme) / (resamples + 1))
    assert res.info["bootstrap"]["paired"] and res.info["images"] == len(gt["images"])


def test_compare_coco_same_system_is_zero_and_labels_differ() -> None:
    gt, dt_a, _ = _case(1)
    res = compare_coco(gt, dt_a, dt_a, bootstrap=50)
    assert res.diff.value == 0 and res.diff.ci95 == (0.0, 0.0) and res.p_value == 1.0
    single = score_coco(gt, dt_a, ci=False)
    assert res.a.value == single.metrics["AP"].value


def test_compare_coco_no_ci_and_bad_options() -> None:
    gt, dt_a, dt_b = _case(2)
    res = compare_coco(gt, dt_a, dt_b, ci=False)
    assert res.diff.ci95 is None and "bootstrap" not in res.info
    with pytest.raises(InputError, match="resamples"):
        compare_coco(gt, dt_a, dt_b, bootstrap=0)
    with pytest.raises(InputError, match="seed"):
        compare_coco(gt, dt_a, dt_b, seed=-1)


def test_compare_coco_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, dt_a, dt_b = _case(3)
    for name, obj in (("gt.json", gt), ("a.json", dt_a), ("b.json", dt_b)):
        (tmp_path / name).write_text(json.dumps(obj))
    args = ["compare", "coco", str(tmp_path / "gt.json"), str(tmp_path / "a.json"), str(tmp_path / "b.json"),
            "--bootstrap", "100"]
    assert main([*args, "--format", "json"]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert doc["kind"] == "coco" and doc["metric"] == "AP" and doc["n"] == len(gt["images"])
    assert doc["info"]["a"].endswith("a.json") and doc["info"]["b"].endswith("b.json")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "AP: paired bootstrap over 24 images" in out and "a.json" in out and "b.json" in out


def test_every_stat_is_paired_tested_as_explicit_pycocotools_resampling() -> None:
    """``paired_coco_tests`` (what ``compare runs`` uses): each summarize() stat's interval and p-value
    equal resampling with pycocotools on the images copied, the same draws for both systems."""
    gt, dt_a, dt_b = _case(seed=3, n_img=20)
    resamples, seed = 25, 2
    tests, notes = paired_coco_tests(gt, dt_a, dt_b, resamples=resamples, seed=seed)
    assert not notes and list(tests) == ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs",
                                         "ARm", "ARl"]
    assert tests["AP"].ci95 == compare_coco(gt, dt_a, dt_b, bootstrap=resamples, seed=seed).diff.ci95
    counts = stats.resample_counts(len(gt["images"]), resamples, seed)
    copies = [(_copied(gt, dt_a, w), _copied(gt, dt_b, w)) for w in counts]
    for name, k in (("AP50", 1), ("AR100", 8)):
        diffs = np.array([_pyco_ap(ga, da, k) - _pyco_ap(gb, db, k) for (ga, da), (gb, db) in copies])
        t = tests[name]
        assert t.diff == pytest.approx(_pyco_ap(gt, dt_a, k) - _pyco_ap(gt, dt_b, k), abs=1e-12)
        assert t.ci95 == pytest.approx(stats.percentile_interval(diffs), abs=1e-9)
        extreme = np.count_nonzero(np.abs(diffs - t.diff) >= abs(t.diff) - 1e-15)
        assert t.p_value == pytest.approx((1 + extreme) / (resamples + 1)), name
