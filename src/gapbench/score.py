"""Score predictions you already have: ``from gapbench import score; score.wer("pairs.jsonl")``.

Every function returns a :class:`gapbench.core.results.ScoreResult` (value + 95% CI per metric)
and matches the field's reference library to the last digit. Names resolve lazily so importing
this module costs nothing.
"""
from __future__ import annotations

from typing import Any

from gapbench.core.registry import Registry

SCORERS: Registry[Any] = Registry("scorer")
SCORERS.register("wer", "gapbench.metrics.wer:score_wer")
SCORERS.register("cer", "gapbench.metrics.wer:score_cer")
SCORERS.register("coco", "gapbench.metrics.coco:score_coco")
SCORERS.register("der", "gapbench.metrics.der:score_der")
SCORERS.register("seg", "gapbench.metrics.segmentation:score_seg")
SCORERS.register("topk", "gapbench.metrics.topk:score_topk")

__all__ = SCORERS.names()


def __getattr__(name: str) -> Any:
    if name in SCORERS:
        return SCORERS.get(name)
    raise AttributeError(f"module 'gapbench.score' has no attribute {name!r}")
