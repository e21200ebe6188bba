"""Paired comparisons of two systems on the same samples: ``compare.wer(a, b)``."""
from __future__ import annotations

from typing import Any

from gapbench.core.registry import Registry

COMPARERS: Registry[Any] = Registry("comparison")
COMPARERS.register("wer", "gapbench.scoring.text:compare_wer")
COMPARERS.register("cer", "gapbench.scoring.text:compare_cer")
COMPARERS.register("der", "gapbench.scoring.der:compare_der")
COMPARERS.register("seg", "gapbench.scoring.arrays:compare_seg")
COMPARERS.register("topk", "gapbench.scoring.arrays:compare_topk")

__all__ = COMPARERS.names()


def __getattr__(name: str) -> Any:
    if name in COMPARERS:
        return COMPARERS.get(name)
    raise AttributeError(f"module 'gapbench.compare' has no attribute {name!r}")
