"""The one typed run document: what ``run``, ``suite`` and ``compare`` write, the store saves and
``gapbench show`` prints.

::

    RunDocument   run_id, task, model, dataset, results[], summary, latency, provenance, spec
     ├ DatasetInfo    name, n_samples, fingerprint (sha256 over the sorted sample keys), generator
     └ ResultEntry    one per (shift, severity, params): metrics {NAME: {value, ci95}}, counts, notes
    SampleRecord  one per (sample, cell): sample_id, shift, severity, values, meta

``sample_id`` is the one id key of a record. Quality metrics live only in ``metrics``; latency
figures only in ``latency``; counts are integers.
"""
from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gapbench.core.results import MetricValue
from gapbench.errors import InputError
from gapbench.shifts.base import CLEAN


def dataset_fingerprint(keys: Iterable[str]) -> str:
    """sha256 over the sorted sample keys: equal iff two runs saw the same samples."""
    h = hashlib.sha256()
    for k in sorted(keys):
        h.update(k.encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    n_samples: int
    fingerprint: str
    generator: Mapping[str, str] = field(default_factory=dict)  # what made the data, with versions

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "n_samples": self.n_samples, "fingerprint": self.fingerprint,
                "generator": dict(self.generator)}

    @classmethod
    def from_json(cls, data: Any, where: str) -> DatasetInfo:
        if not isinstance(data, Mapping):
            raise InputError(None, where, "'dataset' as a dict", type(data).__name__)
        try:
            return cls(str(data["name"]), int(data["n_samples"]), str(data["fingerprint"]),
                       dict(data.get("generator") or {}))
        except (KeyError, TypeError, ValueError):
            raise InputError(None, where, "'dataset' with name, n_samples and fingerprint", data) from None


def _metric_from_json(name: Any, m: Any, where: str) -> MetricValue:
    if not isinstance(name, str) or not name or len(name) > 200:
        raise InputError(None, where, "metric names as non-empty strings (at most 200)", name)
    if isinstance(m, MetricValue):
        return m
    if not isinstance(m, Mapping):  # a bare number is a value without an interval
        m = {"value": m, "ci95": None}
    value = _number(m.get("value"), f"{where} metric {name!r}", "value")
    ci = m.get("ci95")
    if ci is not None:
        if isinstance(ci, (str, bytes, Mapping)) or not isinstance(ci, Iterable) or len(list(ci)) != 2:
            raise InputError(None, f"{where} metric {name!r}", "ci95 as [lo, hi] or null", ci)
        lo, hi = (_number(x, f"{where} metric {name!r}", "ci95 bound") for x in ci)
        ci = None if lo is None or hi is None else (lo, hi)
    return MetricValue(float("nan") if value is None else value, ci)


def _number(x: Any, where: str, what: str) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, (bool, str, bytes)):
        raise InputError(None, where, f"{what} as a number or null", x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        raise InputError(None, where, f"{what} as a number or null", x) from None
    if math.isnan(f):
        return None
    return int(x) if isinstance(x, numbers.Integral) else f


def check_severity(x: Any, where: str) -> int | float | None:
    """A ladder level or a swept parameter's value: a finite number (numpy scalars become Python's)."""
    if x is None:
        return None
    if isinstance(x, (bool, str, bytes)) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        raise InputError(None, where, "severity as a finite number or null", x)
    return int(x) if isinstance(x, numbers.Integral) else float(x)


def check_shift(x: Any, where: str) -> str:
    if not isinstance(x, str) or not x or len(x) > 100:
        raise InputError(None, where, "'shift' as a non-empty string of at most 100 characters", x)
    return x


@dataclass
class ResultEntry:
    """One cell of a run: a shift at a severity with its parameters, and what it scored."""

    metrics: dict[str, MetricValue]
    shift: str = CLEAN
    severity: int | float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, dict[str, MetricValue]] = field(default_factory=dict)  # per_class, seconds...
    n: int = 0
    n_cached: int = 0
    n_computed: int = 0
    notes: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {sample_id, reason}
    latency: dict[str, Any] | None = None  # this cell's own latency block

    _KEYS = ("shift", "severity", "params", "metrics", "n", "n_cached", "n_computed", "notes",
             "n_skipped", "skipped", "latency")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "shift": self.shift,
            "severity": self.severity,
            "params": dict(self.params),
            "metrics": {k: v.to_json() for k, v in self.metrics.items()},
            "n": self.n,
            "n_cached": self.n_cached,
            "n_computed": self.n_computed,
        }
        for name, table in self.groups.items():
            out[name] = {k: v.to_json() for k, v in table.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        if self.skipped:
            out["n_skipped"] = len(self.skipped)
            out["skipped"] = list(self.skipped)
        if self.latency is not None:
            out["latency"] = self.latency
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> ResultEntry:
        if not isinstance(data, Mapping):
            raise InputError(None, where, "a result as a dict", type(data).__name__)
        metrics_in = data.get("metrics") or {}
        if not isinstance(metrics_in, Mapping):
            raise InputError(None, where, "'metrics' as a dict name -> {value, ci95}", metrics_in)
        groups = {k: {n: _metric_from_json(n, m, f"{where} {k}") for n, m in v.items()}
                  for k, v in data.items()
                  if k not in cls._KEYS and isinstance(v, Mapping)
                  and all(isinstance(m, Mapping) and "value" in m for m in v.values())}
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputError(None, where, "'params' as a dict", params)
        return cls(
            metrics={n: _metric_from_json(n, m, where) for n, m in metrics_in.items()},
            shift=check_shift(data.get("shift", CLEAN), where),
            severity=check_severity(data.get("severity"), where),
            params=dict(params),
            groups=groups,
            n=int(data.get("n") or 0),
            n_cached=int(data.get("n_cached") or 0),
            n_computed=int(data.get("n_computed") or 0),
            notes=[str(x) for x in data.get("notes") or []],
            skipped=list(data.get("skipped") or []),
            latency=data.get("latency") if isinstance(data.get("latency"), Mapping) else None,
        )


@dataclass
class SampleRecord:
    """One sample in one cell: its values (metric components, latency, cache) and its metadata."""

    sample_id: str
    shift: str = CLEAN
    severity: int | float | None = None
    values: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {"sample_id": self.sample_id, "shift": self.shift, "severity": self.severity, **self.values}
        if self.meta:
            out["meta"] = dict(self.meta)
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> SampleRecord:
        if isinstance(data, SampleRecord):
            return data
        if not isinstance(data, Mapping):
            raise InputError(None, where, "a record as a dict", type(data).__name__)
        sid = data.get("sample_id")
        if sid is None or isinstance(sid, (bool, bytes)) or not isinstance(sid, (str, int)) \
                or len(str(sid)) > 500:
            raise InputError(None, where, "'sample_id' as a string (at most 500)", sid)
        values = {k: v for k, v in data.items() if k not in ("sample_id", "shift", "severity", "meta")}
        meta = data.get("meta") or {}
        return cls(str(sid), check_shift(data.get("shift", CLEAN), where),
                   check_severity(data.get("severity"), where), values,
                   dict(meta) if isinstance(meta, Mapping) else {"meta": meta})


@dataclass
class RunDocument:
    """A run: task x model over one data set, one result per cell, latency and provenance."""

    task: str
    model: str
    results: list[ResultEntry]
    run_id: str | None = None
    kind: str = "run"  # run | score | compare
    dataset: DatasetInfo | None = None
    summary: dict[str, Any] | None = None
    latency: dict[str, Any] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] | None = None
    metric_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = ("run_id", "kind", "task", "model", "dataset", "results", "summary", "latency",
             "provenance", "spec", "metric_info", "created_at")

    def clean(self) -> ResultEntry | None:
        return next((r for r in self.results if r.shift == CLEAN), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "kind": self.kind,
            "task": self.task,
            "model": self.model,
            "dataset": self.dataset.to_json() if self.dataset else None,
            "results": [r.to_json() for r in self.results],
        }
        if self.summary is not None:
            out["summary"] = self.summary
        out["latency"] = self.latency
        if self.metric_info:
            out["metric_info"] = self.metric_info
        out["spec"] = self.spec
        out["provenance"] = self.provenance
        if self.created_at:
            out["created_at"] = self.created_at
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "run") -> RunDocument:
        """Validate a run as a dict (from JSON or a user) into the typed document."""
        if isinstance(data, RunDocument):
            return data
        if not isinstance(data, Mapping):
            raise InputError(None, where, "a run as a dict", type(data).__name__)
        run_id = data.get("run_id")
        if run_id is not None and (not isinstance(run_id, str) or len(run_id) > 64):
            raise InputError(None, where, "run_id as a string of at most 64 characters", run_id)
        where = f"run {run_id}" if run_id else where
        for key, limit in (("task", 200), ("model", 500)):
            v = data.get(key)
            if not isinstance(v, str) or not v or len(v) > limit:
                raise InputError(None, where, f"{key!r} as a non-empty string of at most {limit} characters", v)
        results = data.get("results") or []
        if isinstance(results, (str, bytes, Mapping)) or not isinstance(results, Iterable):
            raise InputError(None, where, "'results' as a list", type(results).__name__)
        prov = data.get("provenance")
        if prov is not None and not isinstance(prov, Mapping):
            raise InputError(None, where, "'provenance' as a dict or null", type(prov).__name__)
        entries = [ResultEntry.from_json(r, f"{where} results[{i}]") for i, r in enumerate(results)]
        seen: set[tuple[str, Any, str]] = set()
        for i, e in enumerate(entries):
            key = (e.shift, e.severity, repr(sorted(e.params.items())))
            if key in seen:
                raise InputError(None, f"{where} results[{i}]", "one result per (shift, severity, params)",
                                 key[:2])
            seen.add(key)
        ds = data.get("dataset")
        return cls(
            task=data["task"], model=data["model"], results=entries, run_id=run_id,
            kind=str(data.get("kind") or "run"),
            dataset=DatasetInfo.from_json(ds, where) if ds is not None else None,
            summary=data.get("summary"), latency=data.get("latency"), provenance=dict(prov or {}),
            spec=data.get("spec"), metric_info=dict(data.get("metric_info") or {}),
            created_at=data.get("created_at"),
            extra={k: v for k, v in data.items() if k not in cls._KEYS},
        )
