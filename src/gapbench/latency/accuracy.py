"""Accuracy measured in the same latency run: the scenario's own predictions through the task's metrics.

Each query's pipeline outcome (predictions, references, sample ids) is kept on its record; after
the run, every *measured* query's outcome (warm-up excluded; for an offline sweep or a QPS search,
the step the block reports) goes through ``task.make_metrics()`` -> ``update(predictions,
references, ids)`` -> ``compute(...)``, exactly as ``gapbench run`` scores a clean cell. Queries
cycle through the sample pool, so a sample can be served more than once: it is scored once, on its
first measured prediction (a metric counts each unit once). Failed queries have no prediction and
are not scored; the latency block already counts them as failures.

So each latency document carries both axes of an accuracy-vs-latency frontier (across models and
batch sizes): ``results[0].metrics`` beside ``latency.end_to_end``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gapbench.core.run_document import ResultEntry, SampleRecord
from gapbench.core.task import TaskSpec
from gapbench.latency.loadgen import QueryRecord


@dataclass
class Accuracy:
    """The clean-cell result, the metrics' declared directions/units, per-sample rows, and notes."""

    entry: ResultEntry | None
    metric_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[SampleRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def score_queries(task: TaskSpec, records: Sequence[QueryRecord], *, seed: int = 0, bootstrap: int = 1000,
                  ci: bool = True) -> Accuracy:
    """Score the first measured prediction of every sample the queries served (see the module docstring)."""
    seen: set[str] = set()
    preds: list[Any] = []
    refs: list[Any] = []
    samples: list[Any] = []
    for rec in records:
        out = rec.outcome
        if out is None or not rec.completed:
            continue
        for s, p, r in zip(out.samples, out.predictions, out.references):
            if s.id in seen:
                continue
            seen.add(s.id)
            samples.append(s)
            preds.append(p)
            refs.append(r)
    if not samples:
        return Accuracy(None, notes=["accuracy: no measured query returned a prediction"])
    if all(r is None for r in refs):
        return Accuracy(None, notes=["accuracy: the task's samples carry no labels"])
    states = task.make_metrics()
    if not states:
        return Accuracy(None, notes=["accuracy: the task declares no metric"])
    ids = [s.id for s in samples]
    for m in states:
        m.update(preds, refs, ids=ids)
    parts = [m.compute(bootstrap=bootstrap, seed=seed, ci=ci) for m in states]
    metrics: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    notes: list[str] = []
    by_id: dict[str, dict[str, Any]] = {}
    for p in parts:
        metrics.update(p.metrics)
        groups.update(p.groups)
        notes += p.notes
        for row in p.records:
            by_id.setdefault(str(row.get("sample_id")), {}).update(row)
    info: dict[str, dict[str, Any]] = {}
    for m in states:
        for name, mi in getattr(m, "declared", {}).items():
            info[name] = mi.to_json()
    rows = []
    for s in samples:
        values: dict[str, Any] = {"sample_key": s.key, "cached": False}
        values.update({k: v for k, v in by_id.get(str(s.id), {}).items() if k != "sample_id"})
        rows.append(SampleRecord(s.id, values=values, meta=dict(s.meta)))
    entry = ResultEntry(metrics=metrics, groups=groups, n=len(samples), n_computed=len(samples),
                        notes=notes + [f"scored on the {len(samples)} distinct samples the measured queries served"])
    return Accuracy(entry, info, rows)


__all__ = ["Accuracy", "score_queries"]
