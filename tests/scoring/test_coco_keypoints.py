"""``score coco --iou-type keypoints`` and the COCOeval Params users change, against pycocotools.

The cases are built here: person annotations with 17 keypoints, invisible points (v=0), crowd
regions, GT boxes without labelled keypoints (num_keypoints 0: ignored), custom sigmas; and
changed IoU thresholds, maxDets and area ranges on boxes. pycocotools is run with the same
``Params`` edits, and the stats must be identical (pycocotools' -1 is our null).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from gapbench.errors import InputError
from gapbench.metrics.coco_params import COCO_KPT_SIGMAS, KP_STAT_NAMES, CocoParams, parse_params
from gapbench.scoring.coco import score_coco

pytest.importorskip("pycocotools")


def _people(seed: int, n_img: int = 25, k: int = 17) -> tuple[dict, list]:
    r = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 640, "height": 480} for i in range(n_img)]
    anns, dets, aid = [], [], 1
    for i in range(n_img):
        for _ in range(int(r.integers(0, 5))):
            x, y = r.uniform(0, 400, 2)
            w, h = r.uniform(20, 220, 2)
            vis = r.choice([0, 1, 2], size=k, p=[.3, .3, .4])
            if r.random() < 0.12:
                vis[:] = 0  # a box without keypoints
            px, py = x + r.uniform(0, w, k), y + r.uniform(0, h, k)
            kp = np.stack([np.where(vis > 0, px, 0), np.where(vis > 0, py, 0), vis], 1).ravel()
            anns.append({"id": aid, "image_id": i + 1, "category_id": 1, "bbox": [float(x), float(y), float(w),
                         float(h)], "area": float(w * h * r.uniform(.4, 1)), "iscrowd": int(r.random() < 0.1),
                         "keypoints": [float(v) for v in kp], "num_keypoints": int((vis > 0).sum())})
            aid += 1
            for d in range(int(r.integers(0, 3))):
                sd = 0.04 * (d + 1)
                qx = np.where(vis > 0, px + r.normal(0, w * sd, k), x + r.uniform(0, w, k))
                qy = np.where(vis > 0, py + r.normal(0, h * sd, k), y + r.uniform(0, h, k))
                dets.append({"image_id": i + 1, "category_id": 1, "score": float(r.random()),
                             "keypoints": [float(v) for v in np.stack([qx, qy, np.ones(k)], 1).ravel()]})
        for _ in range(int(r.integers(0, 2))):  # a stray detection
            q = np.stack([r.uniform(0, 600, k), r.uniform(0, 450, k), np.ones(k)], 1).ravel()
            dets.append({"image_id": i + 1, "category_id": 1, "score": float(r.random()),
                         "keypoints": [float(v) for v in q]})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}, dets


def _pyco(gt: dict, dt: list, iou_type: str, params: CocoParams) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO()
        cgt.dataset = copy.deepcopy(gt)
        cgt.createIndex()
        ev = COCOeval(cgt, cgt.loadRes(copy.deepcopy(dt)), iou_type)
        params.apply(ev.params)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    n = 10 if iou_type == "keypoints" else 12
    s = np.asarray(ev.stats[:n], float)
    return np.where(s == -1, np.nan, s)


def _ours(result, names) -> np.ndarray:
    return np.array([result.metrics[n].value for n in names], float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keypoints_equal_pycocotools(seed):
    gt, dt = _people(seed)
    assert any(a["num_keypoints"] == 0 for a in gt["annotations"]) and any(a["iscrowd"] for a in gt["annotations"])
    res = score_coco(gt, dt, iou_type="keypoints", ci=False)
    assert tuple(res.metrics) == KP_STAT_NAMES
    ref = _pyco(gt, dt, "keypoints", CocoParams())
    assert np.array_equal(_ours(res, KP_STAT_NAMES), ref, equal_nan=True)
    with_ci = score_coco(gt, dt, iou_type="keypoints", bootstrap=200, seed=seed)
    assert np.array_equal(_ours(with_ci, KP_STAT_NAMES), ref, equal_nan=True)  # the same point values
    for name, mv in with_ci.metrics.items():
        if not np.isnan(mv.value):
            assert mv.ci95 is not None and mv.ci95[0] <= mv.value <= mv.ci95[1] and mv.ci95[0] < mv.ci95[1], name
    assert with_ci.info["resamples"] == 200


@pytest.mark.parametrize("seed", [0, 3])
def test_a_keypoint_resample_equals_pycocotools_on_the_images_copied(seed):
    """The interval's replicates: a resample re-accumulated with image weights (OKS matching done
    once) == pycocotools' summarizeKps on the data set with each image copied as often as drawn."""
    from gapbench.data.coco import load_coco
    from gapbench.metrics.coco import run_engine
    from gapbench.metrics.coco_accumulate import Accumulator, Matched
    from gapbench.metrics.intervals import resample_counts

    gt, dt = _people(seed, n_img=30)
    for i, x in enumerate(dt):  # distinct scores: an image's copies are adjacent in any tie order
        x["score"] = (i + 1) / (len(dt) + 1)
    ev = run_engine(load_coco(gt, dt, "keypoints"), "keypoints")
    acc = Accumulator(Matched(ev))
    assert acc.stat_names == KP_STAT_NAMES
    w = resample_counts(len(ev.params.imgIds), 1, seed=seed + 7)[0]
    assert w.max() > 1 and (w == 0).any()
    got, _ = acc.stats(w[None].astype(np.int32))
    images, anns, dets = [], [], []
    for n, iid in enumerate(ev.params.imgIds):
        for _ in range(int(w[n])):
            new = len(images) + 1
            images.append({"id": new, "width": 640, "height": 480})
            anns += [dict(a, image_id=new, id=len(anns) + 1 + j)
                     for j, a in enumerate(a for a in gt["annotations"] if a["image_id"] == iid)]
            dets += [dict(x, image_id=new) for x in dt if x["image_id"] == iid]
    ref = _pyco({"images": images, "annotations": anns, "categories": gt["categories"]}, dets, "keypoints",
                CocoParams())
    np.testing.assert_allclose(got[0], ref, rtol=0, atol=1e-12)


def test_keypoints_custom_sigmas_and_params_equal_pycocotools():
    gt, dt = _people(5)
    sig = tuple(np.random.default_rng(3).uniform(0.02, 0.12, 17).tolist())
    default = score_coco(gt, dt, iou_type="keypoints", ci=False)
    for params in (CocoParams(kpt_sigmas=sig),
                   CocoParams(kpt_sigmas=sig, iou_thrs=(0.5, 0.6, 0.75), area_rng={"medium": (0.0, 9000.0)}),
                   CocoParams(max_dets=(5, 20))):
        res = score_coco(gt, dt, iou_type="keypoints", ci=False, params=params)
        assert np.array_equal(_ours(res, KP_STAT_NAMES), _pyco(gt, dt, "keypoints", params), equal_nan=True)
        assert res.info["params"] == params.describe()
    assert score_coco(gt, dt, iou_type="keypoints", ci=False, params=CocoParams(kpt_sigmas=sig)).metrics["AP"].value \
        != default.metrics["AP"].value  # the sigmas reach the OKS


def test_keypoints_from_files_and_the_cli(tmp_path):
    from typer.testing import CliRunner

    from gapbench.cli import app

    gt, dt = _people(7)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    sig = ",".join(f"{s:.4f}" for s in np.full(17, 0.05))
    res = CliRunner().invoke(app, ["score", "coco", str(tmp_path / "gt.json"), str(tmp_path / "dt.json"),
                                   "--iou-type", "keypoints", "--kpt-sigmas", sig, "--no-ci", "--format", "json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    ref = _pyco(gt, dt, "keypoints", CocoParams(kpt_sigmas=tuple(float(v) for v in sig.split(","))))
    ours = np.array([np.nan if got["metrics"][n]["value"] is None else got["metrics"][n]["value"]
                     for n in KP_STAT_NAMES], float)
    assert np.array_equal(ours, ref, equal_nan=True)


def _boxes(seed: int, n_img: int = 30) -> tuple[dict, list]:
    r = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 640, "height": 480} for i in range(n_img)]
    anns, dets, aid = [], [], 1
    for i in range(n_img):
        for _ in range(int(r.integers(0, 6))):
            x, y = r.uniform(0, 500, 2)
            w, h = np.exp(r.uniform(1.5, 5.5, 2))
            c = int(r.integers(1, 3))
            anns.append({"id": aid, "image_id": i + 1, "category_id": c, "bbox": [float(x), float(y), float(w),
                         float(h)], "area": float(w * h), "iscrowd": int(r.random() < 0.05)})
            aid += 1
            for _ in range(int(r.integers(0, 3))):
                j = r.normal(0, 0.15, 4) * [w, h, w, h]
                dets.append({"image_id": i + 1, "category_id": c, "score": float(r.random()),
                             "bbox": [float(x + j[0]), float(y + j[1]), float(abs(w + j[2])), float(abs(h + j[3]))]})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}, dets


@pytest.mark.parametrize("params", [
    CocoParams(iou_thrs=(0.5, 0.75)),
    CocoParams(iou_thrs=(0.3, 0.5, 0.75, 0.9)),
    CocoParams(iou_thrs=(0.6,)),  # AP50 / AP75 undefined: null, as pycocotools' -1
    CocoParams(max_dets=(1, 2, 3)),
    CocoParams(area_rng={"small": (0.0, 400.0), "medium": (400.0, 4000.0), "large": (4000.0, 1e10)}),
])
def test_box_params_equal_pycocotools(params):
    gt, dt = _boxes(11)
    res = score_coco(gt, dt, ci=False, params=params)
    names = list(res.metrics)
    assert np.array_equal(_ours(res, names), _pyco(gt, dt, "bbox", params), equal_nan=True)


def test_box_params_keep_intervals_that_contain_the_value():
    gt, dt = _boxes(12)
    params = CocoParams(iou_thrs=(0.5, 0.6, 0.75), max_dets=(1, 5, 100), area_rng={"small": (0.0, 300.0)})
    res = score_coco(gt, dt, bootstrap=100, params=params)
    assert np.array_equal(_ours(res, list(res.metrics)), _pyco(gt, dt, "bbox", params), equal_nan=True)
    ap = res.metrics["AP"]
    assert ap.ci95 is not None and ap.ci95[0] <= ap.value <= ap.ci95[1]
    no_100 = score_coco(gt, dt, bootstrap=100, params=CocoParams(max_dets=(1, 5, 50)))
    assert np.isnan(no_100.metrics["AP"].value) and any("maxDets=100" in n for n in no_100.notes)


def test_params_parsing_and_refusals():
    p = parse_params("0.5,0.75", "1,10,300", ["small=0:1024", "large=9216:inf"], None)
    assert p.iou_thrs == (0.5, 0.75) and p.max_dets == (1, 10, 300)
    assert p.area_rng == {"small": (0.0, 1024.0), "large": (9216.0, 1e10)}
    gt, dt = _boxes(1, 5)
    for bad, match in ((CocoParams(max_dets=(10, 100)), "three values"), (CocoParams(iou_thrs=(0.9, 0.5)), "increasing"),
                       (CocoParams(area_rng={"tiny": (0, 5)}), "label"),
                       (CocoParams(kpt_sigmas=(0.1,)), "keypoints")):
        with pytest.raises(InputError, match=match):
            score_coco(gt, dt, ci=False, params=bad)
    with pytest.raises(InputError, match="LABEL=LOW:HIGH"):
        parse_params(area_ranges=["small"])
    kgt, kdt = _people(2, 4)
    with pytest.raises(InputError, match="holding 20"):
        score_coco(kgt, kdt, iou_type="keypoints", ci=False, params=CocoParams(max_dets=(10,)))
    with pytest.raises(InputError, match="3 finite numbers|51 finite numbers"):
        score_coco(kgt, kdt, iou_type="keypoints", ci=False, params=CocoParams(kpt_sigmas=COCO_KPT_SIGMAS[:1]))
    kdt[0]["keypoints"] = kdt[0]["keypoints"][:-3]
    with pytest.raises(InputError, match="detection index 0"):
        score_coco(kgt, kdt, iou_type="keypoints", ci=False)


def test_compare_keypoints_uses_pycocotools_ap():
    from gapbench.scoring.coco import compare_coco

    gt, dt = _people(8)
    _, worse = _people(8)
    for d in worse:
        d["keypoints"] = [v + (3.0 if k % 3 != 2 else 0.0) for k, v in enumerate(d["keypoints"])]
    res = compare_coco(gt, dt, worse, iou_type="keypoints", bootstrap=50)
    assert res.a.value == _pyco(gt, dt, "keypoints", CocoParams())[0]
    assert res.b.value == _pyco(gt, worse, "keypoints", CocoParams())[0]
    lo, hi = res.diff.ci95
    assert lo <= res.diff.value <= hi


def test_bootstrap_inline_and_worker_paths_agree(monkeypatch):
    """Small scans run in the calling thread, large ones in workers: the intervals are the same."""
    import gapbench.metrics.coco_bootstrap as cb

    gt, dt = _boxes(21)
    monkeypatch.setattr(cb, "_INLINE_WORK", 10**12)
    inline = score_coco(gt, dt, bootstrap=200)
    monkeypatch.setattr(cb, "_INLINE_WORK", 0)
    workers = score_coco(gt, dt, bootstrap=200)
    assert {k: v.ci95 for k, v in inline.metrics.items()} == {k: v.ci95 for k, v in workers.metrics.items()}
    assert inline.metrics["AP"].ci95 is not None
