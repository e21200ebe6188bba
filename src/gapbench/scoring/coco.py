"""COCO mAP from files (or loaded JSON): pycocotools' 12 stats, bit for bit, with intervals."""

from __future__ import annotations

from typing import Any

from gapbench.core.results import ScoreResult
from gapbench.data.coco import load_coco
from gapbench.metrics.coco import evaluate_coco
from gapbench.metrics.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED


def score_coco(
    gt: Any,
    dt: Any,
    *,
    iou_type: str = "bbox",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """COCO mAP of detections ``dt`` against ground truth ``gt`` (paths or loaded JSON)."""
    inp = load_coco(gt, dt, iou_type)
    return evaluate_coco(inp, iou_type=iou_type, bootstrap=bootstrap, seed=seed, ci=ci)


