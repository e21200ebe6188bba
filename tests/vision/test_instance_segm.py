"""Instance segmentation on the ``coco`` task: masks on Detections, scored as COCO ``segm``.

The reference is pycocotools' ``COCOeval(iouType="segm")`` (and ``"bbox"``) on the same files:
the instances JSON the test writes (polygon, compressed-RLE and crowd uncompressed-RLE ground
truth) and the model's masks as a results list.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import textwrap

import numpy as np
import pytest

from gapbench.errors import InputError, ModelError
from gapbench.metrics.coco_accumulate import STAT_NAMES

mask_api = pytest.importorskip("pycocotools.mask")

H, W = 96, 128
N_IMAGES = 8


def _rle(mask: np.ndarray) -> dict:
    r = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}


def _make_data(tmp_path):
    """Images, an instances JSON and the model's masks (one JSON per image index)."""
    from PIL import Image

    rng = np.random.default_rng(7)
    (tmp_path / "img").mkdir()
    images, anns, preds = [], [], {}
    aid = 1
    for k in range(N_IMAGES):
        img = np.zeros((H, W, 3), np.uint8)
        img[0, 0] = k  # the model reads the image index here
        Image.fromarray(img).save(tmp_path / "img" / f"{k}.png")
        images.append({"id": 100 + k, "file_name": f"{k}.png", "width": W, "height": H})
        out = []
        for j in range(int(rng.integers(1, 5))):
            x0, y0 = int(rng.integers(0, W - 20)), int(rng.integers(0, H - 20))
            w, h = int(rng.integers(4, min(70, W - x0))), int(rng.integers(4, min(60, H - y0)))
            cat = int(rng.integers(1, 3))
            if k in (2, 5) and j == 0:  # a large object (area > 96^2)
                x0, y0, w, h = 5, 3, 115, 90
            if j % 2 == 0:  # polygon ground truth: a quadrilateral
                poly = [x0, y0, x0 + w, y0 + 1, x0 + w - 1, y0 + h, x0 + 1, y0 + h - 2]
                seg = [[float(v) for v in poly]]
                gt_mask = mask_api.decode(mask_api.merge(mask_api.frPyObjects(seg, H, W)))
            else:  # an ellipse as a compressed RLE
                yy, xx = np.mgrid[:H, :W]
                gt_mask = (((xx - x0 - w / 2) / (w / 2)) ** 2 + ((yy - y0 - h / 2) / (h / 2)) ** 2 <= 1)
                gt_mask = gt_mask.astype(np.uint8)
                seg = _rle(gt_mask)
            r = mask_api.encode(np.asfortranarray(gt_mask))
            anns.append({"id": aid, "image_id": 100 + k, "category_id": cat, "segmentation": seg,
                         "area": float(mask_api.area(r)), "bbox": [float(v) for v in mask_api.toBbox(r)],
                         "iscrowd": 0})
            aid += 1
            if rng.random() < 0.8:  # detected: the mask shifted and grown a little
                dy, dx = (int(v) for v in rng.integers(-3, 4, 2))
                pm = np.roll(np.roll(gt_mask, dy, 0), dx, 1)
                if rng.random() < 0.5:
                    pm[max(y0 - 2, 0):y0 + 2, x0:x0 + w] = 1
                out.append((pm, float(rng.random()), cat if rng.random() < 0.9 else 3 - cat))
        if k == 3:  # a crowd region as an uncompressed RLE (COCO's own convention for crowds)
            crowd = np.zeros((H, W), np.uint8)
            crowd[60:90, 90:125] = 1
            flat = crowd.ravel(order="F")
            change = np.flatnonzero(np.diff(flat)) + 1
            counts = np.diff(np.concatenate(([0], change, [flat.size]))).tolist()
            if flat[0] == 1:
                counts = [0] + counts
            anns.append({"id": aid, "image_id": 100 + k, "category_id": 1, "iscrowd": 1,
                         "segmentation": {"size": [H, W], "counts": counts}, "area": float(crowd.sum()),
                         "bbox": [90.0, 60.0, 35.0, 30.0]})
            aid += 1
            cm = np.zeros((H, W), np.uint8)
            cm[65:80, 95:110] = 1
            out.append((cm, 0.55, 1))
        if k % 2 == 1:  # a false-positive ellipse: mask area < 32^2 < box area (the two areas disagree on the range)
            yy, xx = np.mgrid[:H, :W]
            fe = (((xx - 60) / 20) ** 2 + ((yy - 40) / 15) ** 2 <= 1).astype(np.uint8)
            out.append((fe, 0.95, 1))
        for _ in range(int(rng.integers(0, 3))):  # false positives
            fm = np.zeros((H, W), np.uint8)
            y, x = int(rng.integers(0, H - 10)), int(rng.integers(0, W - 10))
            fm[y:y + int(rng.integers(2, 10)), x:x + int(rng.integers(2, 40))] = 1
            out.append((fm, float(rng.random()), int(rng.integers(1, 3))))
        preds[k] = [{"rle": _rle(m), "bbox": [float(v) for v in mask_api.toBbox(_rle(m))], "score": s,
                     "label": c} for m, s, c in out]
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    return gt, preds


MODEL = textwrap.dedent('''
    import json
    import numpy as np
    from pycocotools import mask as mask_api
    from gapbench.core.predictions import Detections

    PREDS = json.load(open(__file__.replace("model.py", "preds.json")))

    def model(images):
        out = []
        for img in images:
            k = int(img[0, 0, 0])
            ps = PREDS[str(k)]
            boxes = [p["bbox"] for p in ps]
            scores = [p["score"] for p in ps]
            labels = [p["label"] for p in ps]
            if k % 3 == 0:  # binary arrays
                masks = [mask_api.decode({"size": p["rle"]["size"], "counts": p["rle"]["counts"].encode()})
                         for p in ps]
                out.append({"boxes": boxes, "scores": scores, "labels": labels, "masks": masks})
            elif k % 3 == 1:  # RLE dicts with bytes counts, as pycocotools.mask.encode returns them
                masks = [{"size": p["rle"]["size"], "counts": p["rle"]["counts"].encode()} for p in ps]
                out.append({"boxes": boxes, "scores": scores, "labels": labels, "masks": masks})
            else:  # a Detections with boolean arrays
                masks = tuple(mask_api.decode({"size": p["rle"]["size"], "counts": p["rle"]["counts"].encode()})
                              .astype(bool) for p in ps)
                out.append(Detections(tuple(map(tuple, boxes)), tuple(scores), tuple(labels), masks=masks))
        return out
''')


def _pyco(gt_path, results, iou_type):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(results), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float("nan") if s == -1 else float(s) for s in ev.stats]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


def _run(tmp_path, model_src=MODEL, **kw):
    from gapbench.core.run_spec import RunSpec
    from gapbench.runner.local import run_and_save

    (tmp_path / "model.py").write_text(model_src)
    spec = RunSpec(task="coco", model=f"python:{tmp_path / 'model.py'}:model", use_cache=False, ci=False,
                   options={"data": str(tmp_path / "img"), "annotations": str(tmp_path / "gt.json")}, **kw)
    out, _ = run_and_save(spec, store_url=f"sqlite:///{tmp_path / 's.db'}", out_dir=tmp_path / "o",
                          show_progress=False)
    return out


def test_segm_and_bbox_stats_equal_pycocotools(tmp_path):
    pytest.importorskip("pycocotools")
    _, preds = _make_data(tmp_path)
    out = _run(tmp_path)
    m = out.metrics
    segm_res = [{"image_id": 100 + int(k), "category_id": p["label"], "segmentation": p["rle"], "score": p["score"]}
                for k, ps in preds.items() for p in ps]
    bbox_res = [{"image_id": 100 + int(k), "category_id": p["label"], "bbox": p["bbox"], "score": p["score"]}
                for k, ps in preds.items() for p in ps]
    segm_ref = _pyco(tmp_path / "gt.json", segm_res, "segm")
    bbox_ref = _pyco(tmp_path / "gt.json", bbox_res, "bbox")
    assert 0.2 < segm_ref[0] < 0.95  # a data set where the numbers mean something
    assert not any(math.isnan(v) for v in segm_ref)  # small, medium and large objects
    for name, s_ref, b_ref in zip(STAT_NAMES, segm_ref, bbox_ref):
        assert _same(m[f"segm_{name}"].value, s_ref), name
        assert _same(m[name].value, b_ref), name
    assert segm_ref != bbox_ref  # masks are not boxes: the two really differ
    # a results file with each detection's bbox beside its mask: pycocotools then takes the box's area
    # for a detection (loadRes), which moves the small/medium stats: segm is scored without the bbox
    with_box = [dict(r, bbox=p["bbox"]) for r, p in zip(segm_res, (p for ps in preds.values() for p in ps))]
    assert _pyco(tmp_path / "gt.json", with_box, "segm") != segm_ref
    assert "segm_per_class" in out.cells[0].score.groups and "per_class" in out.cells[0].score.groups
    # the written files: pycocotools on them gives the same numbers
    folder = out.coco_files[0].parent
    names = sorted(p.name for p in out.coco_files)
    assert names == ["none.gt.json", "none.results.json", "none.segm.results.json"]
    written = json.loads((folder / "none.results.json").read_text())
    assert all("segmentation" in r and "bbox" in r for r in written)
    segm_file = _pyco(tmp_path / "gt.json", str(folder / "none.segm.results.json"), "segm")
    assert all(_same(a, b) for a, b in zip(segm_file, segm_ref))
    assert all(_same(a, b) for a, b in zip(_pyco(tmp_path / "gt.json", str(folder / "none.results.json"), "bbox"),
                                           bbox_ref))


def test_boxes_only_model_gets_no_segm_values_and_a_note(tmp_path):
    _make_data(tmp_path)
    src = MODEL.replace('"masks": masks}', '}').replace(", masks=masks)", ")")
    out = _run(tmp_path, src)
    assert "AP" in out.metrics and not any(k.startswith("segm_") for k in out.metrics)
    assert any("segm not scored: the model returned no masks" in n for n in out.cells[0].score.notes)


def test_geometric_shift_does_not_score_segm(tmp_path):
    from gapbench.runner.sweep import parse_cells

    _make_data(tmp_path)
    out = _run(tmp_path, cells=tuple(parse_cells(["poor_framing"], "1")))
    assert "segm_AP" in out.cells[0].metrics
    shifted = out.cells[1]
    assert "AP" in shifted.metrics and "segm_AP" not in shifted.metrics
    assert any("moves the images but not the ground-truth masks" in n for n in shifted.score.notes)


@pytest.mark.parametrize("change, match", [
    ('masks = [m[:-1] for m in masks]\n            ', "image's size"),
    ('masks = masks[:-1]\n            ', "one mask per box"),
    ('masks = [np.full(m.shape, 2, np.uint8) for m in masks]\n            ', "binary"),
])
def test_bad_masks_are_one_clear_error(tmp_path, change, match):
    _make_data(tmp_path)
    src = MODEL.replace("out.append({\"boxes\": boxes, \"scores\": scores, \"labels\": labels, \"masks\": masks})",
                        change + "out.append({\"boxes\": boxes, \"scores\": scores, \"labels\": labels, "
                        "\"masks\": masks})", 1)
    assert src != MODEL
    with pytest.raises((InputError, ModelError), match=match):
        _run(tmp_path, src)


def test_masks_round_trip_through_the_prediction_json():
    from gapbench.core.predictions import Detections, prediction_from_json, prediction_to_json
    from gapbench.models.base import coerce_prediction

    m = np.zeros((5, 6), np.uint8)
    m[1:3, 2:5] = 1
    d = coerce_prediction("object-detection", {"boxes": [[2, 1, 3, 2]], "scores": [0.5], "labels": [1],
                                               "masks": [m]})
    assert d.masks == (_rle(m),)
    back = prediction_from_json(json.loads(json.dumps(prediction_to_json(d))))
    assert back == d and (mask_api.decode({"size": back.masks[0]["size"],
                                           "counts": back.masks[0]["counts"].encode()}) == m).all()
    plain = Detections(((0.0, 0.0, 1.0, 1.0),), (0.5,), (1,))
    assert "masks" not in prediction_to_json(plain)  # box-only JSON (and cache entries) unchanged
    with pytest.raises(ValueError, match="not a compressed COCO RLE"):
        coerce_prediction("object-detection", {"boxes": [[0, 0, 1, 1]], "scores": [1], "labels": [1],
                                               "masks": [{"size": [5, 6], "counts": "zz"}]})


def test_segm_state_round_trips_and_merges(tmp_path):
    """A worker's state (JSON) rebuilt and merged gives the one-shot segm values."""
    from gapbench.core.metric import ComponentMetric
    from gapbench.core.predictions import Detections
    from gapbench.metrics.detection import InstanceSegMetric

    rng = np.random.default_rng(3)
    cats = [{"id": 1, "name": "a"}]
    preds, refs = [], []
    for _ in range(6):
        gm = np.zeros((20, 24), np.uint8)
        y, x = (int(v) for v in rng.integers(0, 10, 2))
        gm[y:y + 8, x:x + 10] = 1
        pm = np.roll(gm, int(rng.integers(-2, 3)), 1)
        refs.append({"boxes": [[x, y, 10, 8]], "labels": [1], "width": 24, "height": 20,
                     "segmentations": [_rle(gm)], "areas": [80.0]})
        preds.append(Detections(((x, y, 10.0, 8.0),), (float(rng.random()),), (1,), masks=(_rle(pm),)))
    one = InstanceSegMetric(cats)
    one.update(preds, refs, [str(i) for i in range(6)])
    a, b = InstanceSegMetric(cats), InstanceSegMetric(cats)
    a.update(preds[:3], refs[:3], ["0", "1", "2"])
    b.update(preds[3:], refs[3:], ["3", "4", "5"])
    a2 = ComponentMetric.from_state_dict(json.loads(json.dumps(a.state_dict())))
    b2 = ComponentMetric.from_state_dict(json.loads(json.dumps(b.state_dict())))
    merged = a2.merge(b2).compute(ci=False)
    want = one.compute(ci=False)
    assert merged.kind == "segm" and set(merged.metrics) == set(want.metrics) == set(STAT_NAMES)
    assert all(_same(merged.metrics[n].value, want.metrics[n].value) for n in STAT_NAMES)


def test_typed_detections_with_rle_masks_are_checked_like_dicts():
    """A model returning ``Detections`` directly gets the same mask checks as one returning a dict."""
    from pycocotools import mask as mask_api

    from gapbench.core.predictions import Detections
    from gapbench.models.base import PredictionTypeError, coerce_prediction

    m = np.zeros((4, 5), dtype=np.uint8, order="F")
    m[1:3, 1:4] = 1
    rle = mask_api.encode(m)
    rle["counts"] = rle["counts"].decode()
    ok = coerce_prediction("object-detection", Detections(((1.0, 1.0, 3.0, 2.0),), (0.9,), (1,), masks=(rle,)))
    assert ok.masks == ({"size": [4, 5], "counts": rle["counts"]},)
    two_boxes = Detections(((1.0, 1.0, 3.0, 2.0), (0.0, 0.0, 1.0, 1.0)), (0.9, 0.5), (1, 1), masks=(rle,))
    with pytest.raises(PredictionTypeError, match="mask"):
        coerce_prediction("object-detection", two_boxes)


def test_compare_runs_tests_box_and_segm_stats_under_their_own_names(tmp_path):
    """``compare runs`` on a box + segm run: each stat's test goes to the name the run gave it (the
    segm metric's AP is ``segm_AP``); a test under the wrong name would disagree with the stored value."""
    pytest.importorskip("pycocotools")
    from gapbench.scoring.compare_runs import compare_runs

    _make_data(tmp_path)
    out = _run(tmp_path)
    doc = json.loads(json.dumps(out.document.to_json()))
    recs = [json.loads(json.dumps(r.to_json())) for r in out.records]
    cmp = compare_runs(doc, recs, doc, recs, bootstrap=30)
    cell = cmp["cells"][0]
    assert not [n for n in cell.get("notes", []) if "records give" in n], cell.get("notes")
    for name in ("AP", "segm_AP", "AP50", "segm_AR100"):
        row = cell["metrics"][name]
        assert row["diff"]["value"] == 0 and row["diff"]["ci95"] == [0.0, 0.0] and row["p_value"] == 1.0, name
    assert out.metrics["AP"].value != out.metrics["segm_AP"].value
