"""End to end: embedded vision tasks through the runner, sweeps, and geometric shifts moving boxes."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gapbench.core.task import get_task
from gapbench.runner.local import run_task
from gapbench.runner.sweep import parse_cells
from gapbench.shifts.base import ShiftCell


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "vision-cache"))


def test_faces_clean_run_and_cache(tmp_path):
    out = run_task("faces", "haar-frontalface", limit=4, cache=tmp_path / "c", show_progress=False)
    ap = out.metrics["AP"].value
    assert 0.2 < ap <= 1.0 and out.metrics["AP50"].value >= ap
    gen = out.document.dataset.generator
    assert gen["dataset"] == "gapbench.data.faces:faces" and gen["builder_version"] == "1" and "pillow" in gen
    again = run_task("faces", "haar-frontalface", limit=4, cache=tmp_path / "c", show_progress=False)
    assert again.clean.n_cached == 4 and again.metrics["AP"].value == ap


def test_faces_cls_accuracy():
    out = run_task("faces-cls", "haar-frontalface", limit=40, cache=False, show_progress=False)
    # the first 40 crops are faces: accuracy = how many the cascade finds
    assert out.metrics["top1"].value >= 0.9


def test_faces_sweep_cells():
    cells = parse_cells(["gaussian_noise,motion_blur"], "1,3")
    out = run_task("faces", "haar-frontalface", limit=3, cells=cells, cache=False, show_progress=False, ci=False)
    assert [c.cell.label() for c in out.cells] == ["none", "gaussian_noise@1", "gaussian_noise@3",
                                                   "motion_blur@1", "motion_blur@3"]
    summary = out.document.summary
    assert summary["metric"] == "AP" and len(summary["cells"]) == 4


def _framing_ap(moved: bool) -> float:
    """AP on faces under poor_framing, against the moved boxes (as the runner does) or the originals."""
    task = get_task("faces")
    cells = (ShiftCell(), ShiftCell("poor_framing", 1, {"shift": 0.08, "angle": 0.0, "scale": 1.1}))
    if moved:
        out = run_task(task, "haar-frontalface", limit=6, cells=cells, cache=False, show_progress=False, ci=False)
        return out.cells[1].metrics["AP"].value
    from gapbench.metrics.detection import BoxDetectionMetric
    from gapbench.models.registry import load_model
    from gapbench.runner.pipeline import Pipeline

    pipe = Pipeline(load_model("haar-frontalface"), task.type, cell=cells[1])
    samples = list(task.samples(6))
    outcome = pipe.process(samples)
    metric = BoxDetectionMetric(task.make_metrics()[0].categories)
    metric.update(outcome.predictions, [s.reference for s in samples], [s.id for s in samples])
    return metric.compute(ci=False).metrics["AP"].value


@pytest.mark.slow
def test_poor_framing_moves_face_boxes_end_to_end():
    clean = run_task("faces", "haar-frontalface", limit=6, cache=False, show_progress=False, ci=False)
    moved, unmoved = _framing_ap(True), _framing_ap(False)
    assert moved > 0.5 * clean.metrics["AP"].value  # detections still line up with the moved boxes
    assert moved > unmoved + 0.1  # and the original boxes no longer do


def test_poor_framing_moves_text_boxes_on_ocr_scenes():
    from gapbench.data.ocr_scenes import ocr_scenes
    from gapbench.data.photos import photo
    from gapbench.shifts.registry import get_family

    fam = get_family("poor_framing")
    params = {"shift": 0.1, "angle": 6.0, "scale": 1.1}
    for s in ocr_scenes()[:3]:
        ink = (s.input != photo(s.meta["photo"])).any(axis=2)
        ink_img = np.repeat(ink[:, :, None].astype(np.uint8) * 255, 3, axis=2)
        shifted_ink, ref = fam.apply(ink_img, s.reference, params, 7)
        _, ref2 = fam.apply(s.input, s.reference, params, 7)
        assert ref2 == ref and ref["texts"] == s.reference["texts"]
        mass = shifted_ink[:, :, 0].astype(float)

        def inside(boxes, mass=mass):
            m = np.zeros(mass.shape, bool)
            for x, y, w, h in boxes:
                m[int(y): int(np.ceil(y + h)), int(x): int(np.ceil(x + w))] = True
            return mass[m].sum() / mass.sum()

        moved = inside(ref["boxes"])
        assert moved > 0.97  # the ink went where the boxes went
        assert inside(s.reference["boxes"]) < moved - 0.1  # and left the original boxes


@pytest.mark.slow
def test_ocr_scenes_end_to_end_with_a_shift(tmp_path):
    cells = parse_cells(["gaussian_noise"], "3")
    out = run_task("ocr-scenes", "rapidocr", limit=2, cells=cells, cache=tmp_path / "c", show_progress=False,
                   ci=False)
    clean = out.cells[0].metrics
    assert {"AP", "AP50", "cer", "wer", "cer_matched"} <= set(clean)
    assert 0 <= clean["cer"].value < 0.5 and clean["AP50"].value > 0.5
    assert out.document.summary["metric"] == "cer"
    recs = [r for r in out.cells[0].records]
    assert all("char_errors" in r.values for r in recs)
    # text detections come back from the response cache with their texts: same scores, no model call
    again = run_task("ocr-scenes", "rapidocr", limit=2, cache=tmp_path / "c", show_progress=False, ci=False)
    assert again.clean.n_cached == 2 and again.clean.n_computed == 0
    assert set(again.metrics) == set(clean)
    for k, v in clean.items():
        assert v.value == again.metrics[k].value or (np.isnan(v.value) and np.isnan(again.metrics[k].value)), k


def test_generic_task_needs_data():
    from gapbench.errors import InputError

    with pytest.raises(InputError, match="--data"):
        run_task("coco", lambda xs: [{"boxes": [], "scores": [], "labels": []} for _ in xs], cache=False,
                 show_progress=False)


def test_generic_coco_task_on_made_files(tmp_path):
    import json

    from PIL import Image

    from gapbench.core.task import Target

    (tmp_path / "img").mkdir()
    for k in range(3):
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "img" / f"{k}.png")
    gt = {"images": [{"id": k + 1, "file_name": f"{k}.png", "width": 30, "height": 20} for k in range(3)],
          "annotations": [{"id": k + 1, "image_id": k + 1, "category_id": 5, "bbox": [2, 3, 10, 8], "area": 80.0,
                           "iscrowd": 0} for k in range(3)],
          "categories": [{"id": 5, "name": "box"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    task = get_task("coco")
    task = dataclasses.replace(task, name="coco-test", dataset=Target(
        task.dataset.target, {"data": str(tmp_path / "img"), "annotations": str(tmp_path / "gt.json")}))

    def model(xs):
        return [{"boxes": [[2, 3, 10, 8], [15, 5, 5, 5]], "scores": [0.9, 0.3], "labels": [5, 5]} for _ in xs]

    out = run_task(task, model, cache=False, show_progress=False, ci=False)
    assert out.metrics["AP"].value == pytest.approx(1.0)


def _with_data(name, **args):
    from gapbench.core.task import Target

    task = get_task(name)
    return dataclasses.replace(task, name=f"{name}-test", dataset=Target(task.dataset.target, args))


def test_generic_imagefolder_and_seg_masks_tasks(tmp_path):
    from PIL import Image

    for cls, v in (("a", 0), ("b", 255)):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(np.full((8, 8, 3), v, np.uint8)).save(tmp_path / "f" / cls / f"{k}.png")
    task = _with_data("imagefolder", data=str(tmp_path / "f"))
    out = run_task(task, lambda xs: [[1.0, 0.0] if x.mean() < 128 else [0.0, 1.0] for x in xs], cache=False,
                   show_progress=False, ci=False)
    assert out.metrics["top1"].value == 1.0

    (tmp_path / "im").mkdir()
    (tmp_path / "m").mkdir()
    mask = np.zeros((6, 6), np.uint8)
    mask[:3] = 1
    mask[0, 0] = 255  # ignored
    for k in range(2):
        Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / "im" / f"{k}.png")
        Image.fromarray(mask).save(tmp_path / "m" / f"{k}.png")
    task = _with_data("seg-masks", data=str(tmp_path / "im"), annotations=str(tmp_path / "m"))
    pred = np.zeros((6, 6), np.int64)
    pred[:2] = 1  # row 2 of class 1 missed: IoU(1) = 11/17... computed below
    out = run_task(task, lambda xs: [pred for _ in xs], cache=False, show_progress=False, ci=False)
    # class 1: GT 17 scored pixels (18 - the ignored one), predicted 11 of them (+0 extra): IoU 11/17
    # class 0: GT 18 pixels, predicted 24 scored (36 - 11 - 1 ignored): intersection 18, union 24 -> 0.75
    assert out.metrics["mIoU"].value == pytest.approx((11 / 17 + 18 / 24) / 2)


def _pyco_ap(gt_path, results_path) -> float:
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(str(results_path)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def test_detections_written_as_coco_files_pycocotools_reads(tmp_path):
    """run_and_save writes each cell's GT and results; pycocotools on them gives the run's AP."""
    pytest.importorskip("pycocotools")
    from gapbench.core.run_spec import RunSpec
    from gapbench.runner.local import run_and_save

    cells = (ShiftCell(), ShiftCell("poor_framing", 1, {"shift": 0.08, "angle": 0.0, "scale": 1.1}))
    spec = RunSpec(task="faces", model="haar-frontalface", limit=4, cells=cells, use_cache=False, ci=False)
    out, _ = run_and_save(spec, store_url=f"sqlite:///{tmp_path / 's.db'}", out_dir=tmp_path, show_progress=False)
    names = sorted(p.name for p in out.coco_files)
    assert names == ["none.gt.json", "none.results.json", "poor_framing@1.gt.json", "poor_framing@1.results.json"]
    folder = out.coco_files[0].parent
    for k, label in enumerate(("none", "poor_framing@1")):
        ap = _pyco_ap(folder / f"{label}.gt.json", folder / f"{label}.results.json")
        assert ap == pytest.approx(out.cells[k].metrics["AP"].value, abs=1e-12)
    rec = out.cells[0].records[0]
    assert rec.values["gt"] == len(rec.meta["faces"]) and "bbox" in rec.values["predictions"][0]


def test_coco_task_results_file_loads_against_the_users_annotations(tmp_path):
    import json

    from PIL import Image

    from gapbench.core.run_spec import RunSpec
    from gapbench.runner.local import run_and_save

    pytest.importorskip("pycocotools")
    (tmp_path / "img").mkdir()
    for k in range(3):
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "img" / f"{k}.png")
    gt = {"images": [{"id": 10 * k + 7, "file_name": f"{k}.png", "width": 30, "height": 20} for k in range(3)],
          "annotations": [{"id": k + 1, "image_id": 10 * k + 7, "category_id": 5, "bbox": [2, 3, 10, 8],
                           "area": 80.0, "iscrowd": 0} for k in range(3)],
          "categories": [{"id": 5, "name": "box"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))

    def model(xs):
        return [{"boxes": [[2, 3, 10, 7], [15, 5, 5, 5]], "scores": [0.9, 0.3], "labels": [5, 5]} for _ in xs]

    spec = RunSpec(task="coco", use_cache=False, ci=False,
                   options={"data": str(tmp_path / "img"), "annotations": str(tmp_path / "gt.json")})
    out, _ = run_and_save(spec, model, store_url=f"sqlite:///{tmp_path / 's.db'}",
                          out_dir=tmp_path / "o", show_progress=False)
    results = json.loads((out.coco_files[0].parent / "none.results.json").read_text())
    assert sorted({r["image_id"] for r in results}) == [7, 17, 27]
    assert _pyco_ap(tmp_path / "gt.json", out.coco_files[0].parent / "none.results.json") == pytest.approx(
        out.metrics["AP"].value, abs=1e-12)


def test_ade20k_task_reduces_zero_label_like_mmseg(tmp_path):
    import sys
    from pathlib import Path

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from references.seg_ref import mmseg_iou_metric

    rng = np.random.default_rng(0)
    (tmp_path / "im").mkdir()
    (tmp_path / "m").mkdir()
    gts, preds = [], []
    for k in range(3):
        gt = rng.integers(0, 6, (12, 10)).astype(np.uint8)  # 0 = "other", 1..5 classes
        Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(tmp_path / "im" / f"{k}.jpg")
        Image.fromarray(gt).save(tmp_path / "m" / f"{k}.png")
        gts.append(gt)
        preds.append(rng.integers(0, 150, (12, 10)).astype(np.int64) % 6)
    it = iter(preds)
    task = _with_data("ade20k", data=str(tmp_path / "im"), annotations=str(tmp_path / "m"))
    out = run_task(task, lambda xs: [next(it) for _ in xs], cache=False, show_progress=False, ci=False, batch_size=1,
                   workers=0)
    ref, _, _ = mmseg_iou_metric(preds, gts, 150, 255, reduce_zero_label=True)
    assert out.metrics["mIoU"].value == pytest.approx(ref["mIoU"], abs=1e-12)
    assert out.metrics["aAcc"].value == pytest.approx(ref["aAcc"], abs=1e-12)


@pytest.mark.slow
def test_poor_framing_moves_text_boxes_end_to_end_through_the_runner():
    """rapidocr under poor_framing: its lines match the moved GT boxes the runner scores, not the originals."""
    from gapbench.metrics.ocr import OCRMetric
    from gapbench.models.registry import load_model
    from gapbench.runner.pipeline import Pipeline

    task = get_task("ocr-scenes")
    cell = ShiftCell("poor_framing", 1, {"shift": 0.12, "angle": 0.0, "scale": 1.0})
    out = run_task(task, "rapidocr", limit=3, cells=(ShiftCell(), cell), cache=False, show_progress=False, ci=False)
    moved = out.cells[1].metrics["AP50"].value
    pipe = Pipeline(load_model("rapidocr"), task.type, cell=cell)
    samples = list(task.samples(3))
    outcome = pipe.process(samples)
    metric = OCRMetric()
    metric.update(outcome.predictions, [s.reference for s in samples], [s.id for s in samples])
    unmoved = metric.compute(ci=False).metrics["AP50"].value
    assert moved > 0.5 * out.cells[0].metrics["AP50"].value
    assert moved > unmoved + 0.2
