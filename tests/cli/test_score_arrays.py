"""``gapbench score seg`` and ``gapbench score topk``: JSON keys and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gapbench.cli import main


@pytest.fixture()
def seg_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, size=(6, 8, 8)).astype(np.uint8)
    gt[:, 0] = 255
    pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 3, size=gt.shape)).astype(np.uint8)
    pred[:, 0] = 0
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "pred.npy", pred)
    return tmp_path / "gt.npy", tmp_path / "pred.npy"


def test_seg_json(seg_files, capsys) -> None:
    gt, pred = seg_files
    assert (
        main(["score", "seg", str(gt), str(pred), "--num-classes", "4", "-f", "json", "--bootstrap", "100"])
        == 0
    )
    payload = json.loads(capsys.readouterr().out)
    assert set(payload["metrics"]) == {"mIoU", "mAcc", "aAcc"}
    assert set(payload["per_class"]) == {f"{m}.{c}" for m in ("IoU", "Acc") for c in range(4)}
    assert payload["metrics"]["mIoU"]["ci95"] is not None
    assert (
        main(["score", "seg", str(gt), str(pred), "--num-classes", "5", "--reduce-zero-label", "--no-ci"])
        == 0
    )
    assert "mIoU" in capsys.readouterr().out


def test_seg_errors(seg_files, tmp_path: Path, capsys) -> None:
    gt, pred = seg_files
    assert main(["score", "seg", str(gt), str(pred), "--num-classes", "3"]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "gt.npy: image 0: expected labels in [0, 3) or ignore_index 255, got 3" in err
    )
    np.save(tmp_path / "f.npy", np.zeros((6, 8, 8), np.float32))
    assert main(["score", "seg", str(gt), str(tmp_path / "f.npy"), "--num-classes", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "f.npy: expected an integer prediction array" in err


def test_topk_json_and_k_option(tmp_path: Path, capsys) -> None:
    from sklearn.metrics import top_k_accuracy_score

    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(50, 8)).astype(np.float32), rng.integers(0, 8, size=50)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "labels.npy", labels)
    assert (
        main(
            [
                "score",
                "topk",
                str(tmp_path / "logits.npy"),
                str(tmp_path / "labels.npy"),
                "--k",
                "1,3",
                "-f",
                "json",
            ]
        )
        == 0
    )
    payload = json.loads(capsys.readouterr().out)
    assert set(payload["metrics"]) == {"top1", "top3"}
    assert payload["metrics"]["top3"]["value"] == top_k_accuracy_score(
        labels, logits, k=3, labels=np.arange(8)
    )
    assert main(["score", "topk", str(tmp_path / "logits.npy"), str(tmp_path / "labels.npy")]) == 0
    assert "top5" in capsys.readouterr().out


def test_topk_errors(tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "logits.npy", np.array([[0.1, np.nan]]))
    np.save(tmp_path / "labels.npy", np.array([0]))
    assert main(["score", "topk", str(tmp_path / "logits.npy"), str(tmp_path / "labels.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "logits.npy: sample 0: expected finite scores (no NaN)" in err
    assert (
        main(["score", "topk", str(tmp_path / "logits.npy"), str(tmp_path / "labels.npy"), "--k", "a"]) == 2
    )
    err = capsys.readouterr().err
    assert err == ("gapbench: error: Invalid value for --k: 'a': comma-separated positive integers such as 1,5 "
                   "(see 'gapbench score topk --help')\n")
