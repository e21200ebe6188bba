"""A metric that keeps the typed predictions, and in-memory tasks, for the adapter tests."""
from __future__ import annotations

from gapbench.core.metric import Metric
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.core.sample import Sample
from gapbench.core.task import Target, TaskSpec


class Capture(Metric):
    """Keeps the typed predictions the pipeline produced, in order."""

    name = "capture"

    def __init__(self) -> None:
        self.preds: list = []

    def update(self, predictions, references, ids=None):
        self.preds += list(predictions)

    def merge(self, other):
        self.preds += other.preds
        return self

    def compute(self, *, bootstrap=1000, seed=0, ci=True):
        return ScoreResult("capture", {"n": MetricValue(float(len(self.preds)))})


SAMPLES: dict[str, list[Sample]] = {}


def samples(name: str) -> list[Sample]:
    return SAMPLES[name]


def memory_task(prefix: str, name: str, type_: str, items: list[Sample]) -> TaskSpec:
    """A task over ``items`` (kept here, so the dataset target can find them by name)."""
    SAMPLES[f"{prefix}-{name}"] = items
    return TaskSpec(name=f"{prefix}-test-{name}", type=type_,
                    dataset=Target(f"{__name__}:samples", {"name": f"{prefix}-{name}"}),
                    metrics=(Target("gapbench.metrics.topk:TopKAccuracy", {"k": [1]}),))
