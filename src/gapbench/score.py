"""Score predictions you already have: ``from gapbench import score; score.wer("pairs.jsonl")``.

Every function returns a :class:`gapbench.core.results.ScoreResult` (value + 95% CI per metric)
and matches the field's reference library to the last digit. Names resolve lazily so importing
this module costs nothing.
"""
from __future__ import annotations

from typing import Any

from gapbench.core.registry import Registry

SCORERS: Registry[Any] = Registry("scorer")
SCORERS.register("wer", "gapbench.scoring.text:score_wer")
SCORERS.register("cer", "gapbench.scoring.text:score_cer")
SCORERS.register("coco", "gapbench.scoring.coco:score_coco")
SCORERS.register("der", "gapbench.scoring.der:score_der")
SCORERS.register("seg", "gapbench.scoring.arrays:score_seg")
SCORERS.register("topk", "gapbench.scoring.arrays:score_topk")

__all__ = SCORERS.names()


def __getattr__(name: str) -> Any:
    if name in SCORERS:
        return SCORERS.get(name)
    raise AttributeError(f"module 'gapbench.score' has no attribute {name!r}")
