"""Result values every metric returns: a value, its 95% interval, and the records behind it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def _clean(x: float | None) -> float | int | None:
    """JSON has no NaN: undefined numbers become null; counts stay integers."""
    if x is None:
        return None
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if type(x).__module__ == "numpy" and hasattr(x, "dtype") and x.dtype.kind in "iu":
        return int(x)
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class MetricValue:
    """One number with its 95% confidence interval (``None`` when no interval applies)."""

    value: float | int  # int for counts
    ci95: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        ci = None
        if self.ci95 is not None:
            lo, hi = _clean(self.ci95[0]), _clean(self.ci95[1])
            ci = None if lo is None or hi is None else [lo, hi]
        return {"value": _clean(self.value), "ci95": ci}


@dataclass
class ScoreResult:
    """What ``gapbench score ...`` produces.

    ``metrics`` holds the headline names fixed by the CLI contract (e.g. ``wer``, ``AP``, ``der``);
    ``groups`` holds named tables of further values (``per_class``...); ``info`` holds plain
    JSON-able facts (counts, settings); ``notes`` holds caveats the user must see (e.g. "too few
    files for an interval"); ``records`` holds per-sample rows for the store and paired tests.
    """

    kind: str
    metrics: dict[str, MetricValue]
    groups: dict[str, dict[str, MetricValue]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_json(self, *, with_records: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "metrics": {k: v.to_json() for k, v in self.metrics.items()},
        }
        for name, table in self.groups.items():
            out[name] = {k: v.to_json() for k, v in table.items()}
        if self.info:
            out["info"] = self.info
        if self.notes:
            out["notes"] = list(self.notes)
        if with_records:
            out["records"] = self.records
        return out


@dataclass
class CompareResult:
    """A paired comparison of two systems on the same samples (A minus B)."""

    kind: str
    metric: str
    a: MetricValue
    b: MetricValue
    diff: MetricValue
    p_value: float
    n: int
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "metric": self.metric,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "diff": self.diff.to_json(),
            "p_value": _clean(self.p_value),
            "n": self.n,
            **({"info": self.info} if self.info else {}),
            **({"notes": self.notes} if self.notes else {}),
        }


def unclash(kind: str, name: str, taken: Any) -> str:
    """A metric's value name in a run: ``name``, or ``<kind>_<name>`` when an earlier metric of the
    run already uses it (CER's ``hits`` is ``cer_hits`` beside WER's; segm's ``AP`` is ``segm_AP``)."""
    return f"{kind}_{name}" if name in taken else name
