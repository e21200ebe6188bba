"""Every command's option validation, --no-ci, and odd input through the CLI (issue 6)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gapbench.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, refdata: Path) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("opts")
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, size=(12, 8, 8)).astype(np.uint8)
    pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 4, size=gt.shape)).astype(np.uint8)
    pred2 = np.where(rng.random(gt.shape) < 0.5, gt, rng.integers(0, 4, size=gt.shape)).astype(np.uint8)
    labels = rng.integers(0, 6, size=40)
    logits = rng.normal(size=(40, 6)) + 2.0 * np.eye(6)[labels]
    logits2 = rng.normal(size=(40, 6)) + 0.5 * np.eye(6)[labels]
    for name, arr in (("gt", gt), ("pred", pred), ("pred2", pred2), ("labels", labels), ("logits", logits),
                      ("logits2", logits2)):
        np.save(tmp / f"{name}.npy", arr)
    der = refdata / "der" / "ami_test4_synth"
    coco = refdata / "coco" / "real_val2014_100"
    return {"seg_gt": str(tmp / "gt.npy"), "seg_a": str(tmp / "pred.npy"), "seg_b": str(tmp / "pred2.npy"),
            "labels": str(tmp / "labels.npy"), "logits": str(tmp / "logits.npy"), "logits2": str(tmp / "logits2.npy"),
            "pairs": str(refdata / "wer" / "pairs.jsonl"), "ref": str(der / "ref.rttm"), "hyp": str(der / "hyp.rttm"),
            "gt": str(coco / "gt.json"), "dt": str(coco / "dt_bbox.json"), "tmp": str(tmp)}


def commands(f: dict[str, str]) -> dict[str, list[str]]:
    """One invocation of every command that takes --bootstrap/--seed (cheap inputs)."""
    return {
        "score wer": ["score", "wer", f["pairs"]],
        "score cer": ["score", "cer", f["pairs"]],
        "score coco": ["score", "coco", f["gt"], f["dt"]],
        "score der": ["score", "der", f["ref"], f["hyp"]],
        "score seg": ["score", "seg", f["seg_gt"], f["seg_a"], "--num-classes", "4"],
        "compare wer": ["compare", "wer", f["pairs"], f["pairs"]],
        "compare coco": ["compare", "coco", f["gt"], f["dt"], f["dt"]],
        "compare der": ["compare", "der", f["ref"], f["hyp"], f["ref"]],
        "compare seg": ["compare", "seg", f["seg_gt"], f["seg_a"], f["seg_b"], "--num-classes", "4"],
        "compare topk": ["compare", "topk", f["logits"], f["logits2"], f["labels"]],
        "run": ["run", "digits", "--limit", "12", "--no-cache", "--store", f"sqlite:///{f['tmp']}/s.db",
                "--out", f"{f['tmp']}/out"],
    }


def _one_line(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    capsys.readouterr()
    code = main(argv)
    cap = capsys.readouterr()
    assert code == 2, (argv, cap.err)
    assert cap.err.count("\n") == 1 and cap.err.startswith("gapbench: error: ") and cap.out == "", cap.err
    for needle in needles:
        assert needle in cap.err, (argv, cap.err)
    return cap.err


@pytest.mark.parametrize("name", ["score wer", "score coco", "score der", "score seg", "compare wer",
                                  "compare coco", "compare der", "compare seg", "compare topk", "run"])
def test_bootstrap_zero_names_no_ci_and_negative_seed(files, capsys, name: str) -> None:
    argv = commands(files)[name]
    _one_line(capsys, [*argv, "--bootstrap", "0"], "--bootstrap", "--no-ci")
    _one_line(capsys, [*argv, "--bootstrap", "-5"], "--bootstrap")
    _one_line(capsys, [*argv, "--seed", "-1"], "--seed")


@pytest.mark.parametrize("name", ["score wer", "score coco", "score der", "score seg", "compare wer",
                                  "compare coco", "compare der", "compare seg", "compare topk", "run"])
def test_no_ci_hides_the_ci_column(files, capsys, name: str) -> None:
    argv = commands(files)[name]
    capsys.readouterr()
    assert main([*argv, "--no-ci", "--bootstrap", "20"] if name != "run" else [*argv, "--no-ci"]) == 0
    out = capsys.readouterr().out
    assert "CI" not in out and "value" in out
    assert main([*argv, "--bootstrap", "50"]) == 0
    assert "95% CI" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-0.5"])
def test_collar_must_be_finite(files, capsys, value: str) -> None:
    for argv in (commands(files)["score der"], commands(files)["compare der"]):
        _one_line(capsys, [*argv, "--collar", value], "--collar")


@pytest.mark.parametrize(("option", "value"), [("--workers", "-3"), ("--limit", "0"), ("--limit", "-1"),
                                               ("--batch-size", "0"), ("--warmup-batches", "-1")])
def test_run_numbers(files, capsys, option: str, value: str) -> None:
    _one_line(capsys, [*commands(files)["run"], option, value], option)


def test_num_classes_and_labels_after_reduce_zero_label(files, capsys, tmp_path: Path) -> None:
    for cmd in ("score seg", "compare seg"):
        argv = [a for a in commands(files)[cmd]]
        argv[argv.index("--num-classes") + 1] = "100000000"
        _one_line(capsys, argv, "--num-classes", "65536")
    gt = np.full((2, 4, 4), 4, np.uint8)  # 4 -> 3 after --reduce-zero-label: >= num_classes 3
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "pred.npy", np.zeros((2, 4, 4), np.uint8))
    _one_line(capsys, ["score", "seg", str(tmp_path / "gt.npy"), str(tmp_path / "pred.npy"), "--num-classes", "3",
                       "--reduce-zero-label"], "gt.npy", "[0, 3)", "got 3")
    capsys.readouterr()
    # 0 becomes the ignore index and 4 -> 3 < 4: legal
    assert main(["score", "seg", str(tmp_path / "gt.npy"), str(tmp_path / "pred.npy"), "--num-classes", "4",
                 "--reduce-zero-label", "--no-ci"]) == 0


def test_unwritable_out_prints_the_result_first(files, capsys, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    bad = tmp_path / "a_file" / "x.json"  # a parent that is a file: unwritable even for root
    for fmt in ("table", "json"):
        capsys.readouterr()
        assert main(["score", "wer", files["pairs"], "--no-ci", "--out", str(bad), "--format", fmt]) == 2
        cap = capsys.readouterr()
        assert cap.err.count("\n") == 1 and str(bad) in cap.err and "writable" in cap.err
        if fmt == "json":
            assert json.loads(cap.out)["metrics"]["wer"]["value"] > 0
        else:
            assert re.search(r"wer\s+│\s+0\.\d{4}", cap.out)


def test_non_utf8_json_and_yaml(files, capsys, tmp_path: Path) -> None:
    (tmp_path / "dt.json").write_bytes(b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], '
                                       b'"score": 0.5, "note": "caf\xe9"}]')
    _one_line(capsys, ["score", "coco", files["gt"], str(tmp_path / "dt.json")], "dt.json", "UTF-8")
    (tmp_path / "gt.json").write_bytes(b'{"images": [], "info": "\xff"}')
    _one_line(capsys, ["score", "coco", str(tmp_path / "gt.json"), files["dt"]], "gt.json", "UTF-8")
    (tmp_path / "suite.yaml").write_bytes(b"name: caf\xe9\njobs: []\n")
    _one_line(capsys, ["suite", str(tmp_path / "suite.yaml")], "suite.yaml", "UTF-8")
    (tmp_path / "task.yaml").write_bytes(b"name: caf\xe9\ntype: image-classification\n")
    _one_line(capsys, ["run", str(tmp_path / "task.yaml")], "task.yaml", "UTF-8")


def test_malformed_masks_in_coco_detections(files, capsys, tmp_path: Path) -> None:
    gt = json.loads(Path(files["gt"]).read_text())
    img, cat = gt["images"][0], gt["categories"][0]["id"]
    size = [img["height"], img["width"]]
    cases = {
        "wrong_size": {"size": [3, 3], "counts": "abc"},
        "garbage_rle": {"size": size, "counts": "\u00ff\u00fe!!garbage"},
        "short_rle": {"size": size, "counts": "1"},
        "not_rle": [[1.0, 2.0, 3.0]],
    }
    for name, seg in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps([{"image_id": img["id"], "category_id": cat, "score": 0.9, "segmentation": seg}]))
        _one_line(capsys, ["score", "coco", files["gt"], str(path), "--iou-type", "segm", "--no-ci"],
                  f"{name}.json", "detection index 0")


BAD_MODELS = """\
import numpy as np

def nan(batch):
    out = [np.full(10, 0.1) for _ in batch]
    out[1][3] = np.nan
    return out

def uneven(batch):
    return [np.full(10 if i != 2 else 9, 0.1) for i in range(len(batch))]
"""


@pytest.mark.parametrize(("fn", "position", "message"), [("nan", 1, "NaN"), ("uneven", 2, "10 class scores")])
def test_bad_model_scores_name_model_and_sample_and_are_not_cached(tmp_path: Path, capsys, fn: str, position: int,
                                                                   message: str) -> None:
    from gapbench.data.embedded import sklearn_digits

    (tmp_path / "bad_scores.py").write_text(BAD_MODELS)
    sample_id = sklearn_digits("test")[position].id
    argv = ["run", "digits", "--model", f"python:{tmp_path / 'bad_scores.py'}:{fn}", "--limit", "10",
            "--out", str(tmp_path / "out"), "--store", f"sqlite:///{tmp_path / 's.db'}"]
    for _ in range(2):  # the rerun computes again and fails the same way: nothing bad was cached
        err = _one_line(capsys, argv, f"bad_scores.py:{fn}", f"sample {sample_id}", message)
        assert "<input>" not in err
    import sqlite3

    with sqlite3.connect(tmp_path / "out" / "cache" / "responses.sqlite") as db:
        (table,) = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
