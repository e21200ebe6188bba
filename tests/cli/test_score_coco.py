"""``gapbench score coco``: JSON output and one-line errors (exit code 2) for every bad input."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from gapbench.cli import main

NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def small() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 30], "area": 900, "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [50, 50, 20, 20], "area": 400, "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [11, 10, 30, 30], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 20, 20], "score": 0.8},
    ]
    return gt, dt


def write(tmp: Path, gt: Any, dt: Any) -> tuple[Path, Path]:
    g, d = tmp / "gt.json", tmp / "dt.json"
    g.write_text(gt if isinstance(gt, str) else json.dumps(gt))
    d.write_text(dt if isinstance(dt, str) else json.dumps(dt))
    return g, d


def test_json_output(refdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = refdata / "coco" / "real_val2014_100"
    out = tmp_path / "r.json"
    rc = main(["score", "coco", str(d / "gt.json"), str(d / "dt_bbox.json"), "--format", "json",
               "--bootstrap", "50", "--seed", "3", "--out", str(out)])
    assert rc == 0
    js = json.loads(capsys.readouterr().out)
    assert js["kind"] == "coco" and list(js["metrics"]) == NAMES
    assert js["metrics"]["AP"]["ci95"] is not None and round(js["metrics"]["AP"]["value"], 3) == 0.505
    assert "person" in js["per_class"] and js["info"]["resamples"] == 50 and js["info"]["seed"] == 3
    assert json.loads(out.read_text())["metrics"] == js["metrics"]


def test_segm_no_ci_and_table(refdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = refdata / "coco" / "real_val2014_100"
    assert main(["score", "coco", str(d / "gt.json"), str(d / "dt_segm.json"), "--iou-type", "segm",
                 "-f", "json", "--no-ci"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert all(v["ci95"] is None for v in js["metrics"].values())
    assert round(js["metrics"]["AP"]["value"], 3) == 0.320
    assert main(["score", "coco", str(d / "gt.json"), str(d / "dt_bbox.json"), "--no-ci"]) == 0
    assert "AP50" in capsys.readouterr().out


def test_empty_detection_list_is_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, _ = small()
    g, d = write(tmp_path, gt, [])
    assert main(["score", "coco", str(g), str(d), "-f", "json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["metrics"]["AP"]["value"] == 0.0 and any("no detections" in n for n in js["notes"])


def _mut(fn: Any) -> tuple[Any, Any]:
    gt, dt = small()
    fn(gt, dt)
    return gt, dt


BAD: list[tuple[str, Any, Any, str, list[str]]] = [
    ("malformed gt", '{"images": [', None, "gt", ["line 1", "valid JSON"]),
    ("empty dt file", None, "", "dt", ["empty file"]),
    ("malformed dt", None, '[{"image_id": 1,,}]', "dt", ["valid JSON"]),
    ("no images", *_mut(lambda g, d: g.pop("images")), "gt", ["'images'"]),
    ("no annotations", *_mut(lambda g, d: g.pop("annotations")), "gt", ["'annotations'"]),
    ("no categories", *_mut(lambda g, d: g.pop("categories")), "gt", ["'categories'"]),
    ("dt not a list", None, '{"image_id": 1}', "dt", ["a JSON list of detections"]),
    ("dt is a gt file", None, json.dumps(small()[0]), "dt", ["looks like a ground-truth"]),
    ("missing score", *_mut(lambda g, d: d[1].pop("score")), "dt", ["detection index 1", "'score'"]),
    ("missing image_id", *_mut(lambda g, d: d[0].pop("image_id")), "dt", ["detection index 0", "image_id"]),
    ("missing category", *_mut(lambda g, d: d[0].pop("category_id")), "dt", ["category_id"]),
    ("missing bbox", *_mut(lambda g, d: d[1].pop("bbox")), "dt", ["detection index 1", "'bbox'"]),
    ("nan score", *_mut(lambda g, d: d[0].update(score=math.nan)), "dt", ["finite number"]),
    ("inf score", *_mut(lambda g, d: d[0].update(score=math.inf)), "dt", ["finite number"]),
    ("string score", *_mut(lambda g, d: d[0].update(score="0.9")), "dt", ["finite number"]),
    ("negative box", *_mut(lambda g, d: d[1].update(bbox=[0, 0, -5, 10])), "dt", ["non-negative width"]),
    ("short box", *_mut(lambda g, d: d[1].update(bbox=[0, 0, 5])), "dt", ["four finite numbers"]),
    ("unknown image", *_mut(lambda g, d: d[1].update(image_id=77)), "dt", ["image_id present in", "77"]),
    ("int vs string id", *_mut(lambda g, d: d[1].update(image_id="2")), "dt", ["'2' [str]", "2 [int]"]),
    ("unknown category", *_mut(lambda g, d: d[0].update(category_id=5)), "dt", ["category_id", "5"]),
    ("gt without area", *_mut(lambda g, d: g["annotations"][1].pop("area")),
     "gt", ["annotation index 1 (id 2)", "'area'"]),
    ("gt ann id 0", *_mut(lambda g, d: g["annotations"][0].update(id=0)), "gt", ["non-zero"]),
    ("gt duplicate ann id", *_mut(lambda g, d: g["annotations"][1].update(id=1)), "gt", ["unique annotation"]),
    ("gt negative box", *_mut(lambda g, d: g["annotations"][0].update(bbox=[0, 0, 3, -1])),
     "gt", ["non-negative"]),
]


@pytest.mark.parametrize(("name", "gt", "dt", "which", "needles"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, gt: Any, dt: Any, which: str,
    needles: list[str],
) -> None:
    good_gt, good_dt = small()
    g, d = write(tmp_path, good_gt if gt is None else gt, good_dt if dt is None else dt)
    assert main(["score", "coco", str(g), str(d), "--no-ci"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert str(g if which == "gt" else d) in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g, _ = write(tmp_path, small()[0], small()[1])
    assert main(["score", "coco", str(g), str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_segm_needs_image_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, dt = small()
    for a in gt["annotations"]:
        a["segmentation"] = [[10, 10, 40, 10, 40, 40]]
    del gt["images"][0]["height"]
    g, d = write(tmp_path, gt, dt)
    assert main(["score", "coco", str(g), str(d), "--iou-type", "segm"]) == 2
    assert "'height' and 'width'" in capsys.readouterr().err
