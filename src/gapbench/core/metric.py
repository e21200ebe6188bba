"""The mergeable metric state every metric family implements.

Shards evaluated on different workers are combined with ``merge``; ``compute`` on the merged
state must equal a one-shot evaluation of all samples (tested per family). States hold small
per-sample summaries (error counts, match tables), never raw model inputs.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

from gapbench.core.results import ScoreResult


class Metric(ABC):
    """``update`` with predictions and references, ``merge`` shards, ``compute`` a result."""

    name: str = "metric"

    @abstractmethod
    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        """Add a batch of predictions with their references (same length, same order)."""

    @abstractmethod
    def merge(self, other: Self) -> Self:
        """Fold another shard's state into this one and return ``self``."""

    @abstractmethod
    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        """The metric over everything seen so far, with 95% intervals unless ``ci`` is False."""
