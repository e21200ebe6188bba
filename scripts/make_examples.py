"""Rebuild the bundled example files scored by the default suite (run once; outputs are committed).

Sources: tests/data/reference (COCO val2014 100-image subset, CC BY 4.0; AMI test meetings,
CC BY 4.0; CMU ARCTIC prompt pairs) and seeded synthetic arrays for segmentation and top-k.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REF = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests" / "data" / "reference"
OUT = REPO / "src" / "gapbench" / "examples"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(REF / "wer" / "pairs.jsonl", OUT / "wer_pairs.jsonl")

    gt = json.loads((REF / "coco" / "real_val2014_100" / "gt.json").read_text())
    for ann in gt["annotations"]:  # the bbox task never reads masks; keep the file small
        ann.pop("segmentation", None)
    gt.pop("licenses", None)
    (OUT / "coco_gt.json").write_text(json.dumps(gt))
    shutil.copy(REF / "coco" / "real_val2014_100" / "dt_bbox.json", OUT / "coco_dt.json")

    for name in ("ref.rttm", "hyp.rttm", "all.uem"):
        shutil.copy(REF / "der" / "ami_test4_synth" / name, OUT / f"ami_{name}")

    rng = np.random.default_rng(0)
    # Segmentation: 12 images of 64x64, 5 classes, blocky GT and a prediction with 15% pixel noise.
    gt_masks = rng.integers(0, 5, size=(12, 8, 8)).repeat(8, axis=1).repeat(8, axis=2).astype(np.uint8)
    pred = gt_masks.copy()
    flip = rng.random(pred.shape) < 0.15
    pred[flip] = rng.integers(0, 5, size=int(flip.sum()))
    gt_masks[:, :2, :] = 255  # an ignored border, as in Cityscapes/ADE exports
    np.save(OUT / "seg_gt.npy", gt_masks)
    np.save(OUT / "seg_pred.npy", pred)

    # Top-k: 500 samples, 10 classes, logits informative about the label.
    labels = rng.integers(0, 10, size=500)
    logits = rng.normal(size=(500, 10))
    logits[np.arange(500), labels] += 1.8
    np.save(OUT / "topk_logits.npy", logits.astype(np.float32))
    np.save(OUT / "topk_labels.npy", labels.astype(np.int64))


if __name__ == "__main__":
    main()
