"""The metric base every family builds on.

The shape is always the same (pyannote.metrics' components): per-unit components (S/D/I/H per
utterance, DER components per file, class areas per image, hits per sample), summed, then a
function of the sums. :class:`ComponentMetric` holds that table with its unit ids as declared,
mergeable state (torchmetrics): ``merge`` concatenates shards, ``state_dict`` /
``load_state_dict`` move a shard between processes and machines, and ``compute`` -- the point
value, the bootstrap interval over units, the per-unit records -- is written once here. A family
says what a row is (``update``), how values follow from summed rows (``values``), and declares,
per metric name, whether higher is better and its unit.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from gapbench.core.results import MetricValue, ScoreResult
from gapbench.errors import InputError


@dataclass(frozen=True)
class MetricInfo:
    """What a report, a leaderboard or a drift chart must know about a metric name."""

    higher_is_better: bool
    unit: str  # "fraction", "seconds", "count", "ms"

    def to_json(self) -> dict[str, Any]:
        return {"higher_is_better": self.higher_is_better, "unit": self.unit}


FRACTION_UP = MetricInfo(True, "fraction")
FRACTION_DOWN = MetricInfo(False, "fraction")
COUNT = MetricInfo(False, "count")


class Metric(ABC):
    """``update`` with predictions and references, ``merge`` shards, ``compute`` a result."""

    name: str = "metric"
    declared: ClassVar[Mapping[str, MetricInfo]] = {}

    @abstractmethod
    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        """Add a batch of predictions with their references (same length, same order)."""

    @abstractmethod
    def merge(self, other: Self) -> Self:
        """Fold another shard's state into this one and return ``self``."""

    @abstractmethod
    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        """The metric over everything seen so far, with 95% intervals unless ``ci`` is False."""


def check_batch(predictions: Any, references: Any, ids: Any) -> tuple[list[Any], list[Any], list[str] | None]:
    """Lists of equal length (the same check for every family, one InputError)."""
    preds, refs = list(predictions), list(references)
    if len(preds) != len(refs):
        raise InputError(None, None, f"as many predictions as references ({len(refs)})", len(preds))
    if ids is None:
        return preds, refs, None
    id_list = [str(i) for i in ids]
    if len(id_list) != len(refs):
        raise InputError(None, None, f"as many ids as references ({len(refs)})", len(id_list))
    return preds, refs, id_list


class ComponentMetric(Metric):
    """A metric whose state is a table of per-unit components with unit ids.

    Subclasses implement ``update`` (calling :meth:`add_units`), ``config`` (the settings two
    shards must share) and ``values`` (named values from summed component rows, vectorised over
    resamples). Optional hooks: ``interval_names`` (which values get a bootstrap interval),
    ``closed_form_interval``,
    ``unit_rows`` (a table computed from the stored one at compute time), ``finish`` (notes, info),
    ``records``.
    """

    unit: ClassVar[str] = "sample"  # what one row is: utterance, file, image, sample
    dtype: ClassVar[Any] = np.float64

    def __init__(self) -> None:
        self.ids: list[str | None] = []  # None: named by position when computed (shards merge in order)
        self._rows: list[np.ndarray] = []

    # ---- state -----------------------------------------------------------------------------

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The settings that define this metric (checked on merge, stored in ``state_dict``)."""

    def add_units(self, rows: np.ndarray, ids: Sequence[str] | None) -> None:
        rows = np.asarray(rows, dtype=self.dtype)
        if rows.ndim == 1:
            rows = rows[:, None]
        self.ids.extend([None] * len(rows) if ids is None else [str(i) for i in ids])
        self._rows.append(rows)

    def unit_ids(self) -> list[str]:
        """Every unit's id; units added without one are named by their position."""
        return [str(k) if u is None else u for k, u in enumerate(self.ids)]

    def table(self) -> np.ndarray:
        """``(units, components)``: every unit's row, in the order seen."""
        rows = [r for r in self._rows if len(r)]
        if not rows:
            return np.zeros((0, 0), dtype=self.dtype)
        if len(rows) > 1:
            self._rows = [np.concatenate(rows, axis=0)]
        return self._rows[0]

    def __len__(self) -> int:
        return len(self.ids)

    def merge(self, other: Self) -> Self:
        if type(other) is not type(self) or other.config() != self.config():
            raise InputError(None, None, f"a {type(self).__name__} shard with settings {self.config()}",
                             other.config())
        self.ids.extend(other.ids)
        self._rows.extend(other._rows)
        return self

    def state_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot: settings, unit ids and the component table."""
        t = self.table()
        return {"metric": f"{type(self).__module__}:{type(self).__qualname__}", "config": self.config(),
                "ids": list(self.ids), "shape": list(t.shape), "table": t.ravel().tolist()}

    def load_state_dict(self, state: Mapping[str, Any]) -> Self:
        """Replace this state by ``state`` (from :meth:`state_dict`; settings must match)."""
        if dict(state.get("config", {})) != self.config():
            raise InputError(None, "metric state", f"settings {self.config()}", state.get("config"))
        shape = tuple(state["shape"])
        self.ids = [None if i is None else str(i) for i in state["ids"]]
        self._rows = [np.asarray(state["table"], dtype=self.dtype).reshape(shape)]
        if len(self.ids) != shape[0]:
            raise InputError(None, "metric state", f"{shape[0]} unit ids", len(self.ids))
        return self

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> ComponentMetric:
        """Rebuild a metric of the class named in ``state`` (what a worker sends back)."""
        module, _, qual = str(state["metric"]).partition(":")
        klass = getattr(importlib.import_module(module), qual)
        return klass(**state["config"]).load_state_dict(state)

    # ---- values ----------------------------------------------------------------------------

    @abstractmethod
    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        """Named values from summed rows ``totals`` ``(B, components)`` -> each ``(B,)``."""

    def unit_rows(self, table: np.ndarray) -> np.ndarray:
        """The components to sum, from the stored table (default: the table itself)."""
        return table

    def interval_names(self, names: Sequence[str]) -> list[str]:
        """Which values get a bootstrap interval (default: every declared one)."""
        return [n for n in names if n in self.declared]

    def closed_form_interval(self, name: str, value: float, rows: np.ndarray) -> tuple[float, float] | None:
        """An interval that needs no resampling (e.g. Wilson's); None to bootstrap instead."""
        return None

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        """Add family-specific notes and info to the computed result."""

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """Per-unit rows for the store (default: the components by name)."""
        return [{"sample_id": uid} for uid in self.unit_ids()]

    # ---- compute, written once ------------------------------------------------------------------

    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        from gapbench.metrics import intervals

        if not self.ids:
            raise InputError(None, None, f"at least one {self.unit} to score")
        if ci and (isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1):
            raise InputError(None, "number of bootstrap resamples", "an integer >= 1 (or ci=False)", bootstrap)
        rows = self.unit_rows(self.table())
        n = len(rows)
        # sequential sums, in unit order, as the reference libraries accumulate
        totals = np.cumsum(rows, axis=0)[-1][None, :] if n else np.zeros((1, rows.shape[1]))
        point = {k: v[0] for k, v in self.values(totals).items()}
        notes: list[str] = []
        info: dict[str, Any] = {f"{self.unit}s": n}
        cis: dict[str, tuple[float, float] | None] = {}
        boot_names = []
        for name in self.interval_names(list(point)):
            closed = self.closed_form_interval(name, float(point[name]), rows) if ci else None
            if closed is not None:
                cis[name] = closed
            elif ci:
                boot_names.append(name)
        if boot_names:
            if n < intervals.MIN_UNITS:
                notes.append(f"no bootstrap interval: too few {self.unit}s ({n})")
            else:
                table = rows.astype(np.float64)

                def statistic(c: np.ndarray) -> np.ndarray:
                    vals = self.values(c @ table)
                    return np.column_stack([vals[k] for k in boot_names])

                boot = intervals.bootstrap_stats(n, statistic, bootstrap, seed)
                pt = np.array([float(point[k]) for k in boot_names])
                iv = intervals.bc_percentile_interval(boot.reshape(len(boot), -1), pt)
                refused: dict[str, list[str]] = {}
                for j, name in enumerate(boot_names):
                    pair = iv.pair(j)
                    if pair is not None:
                        cis[name] = pair
                    elif "/" not in name:
                        notes.append(f"{name}: {iv.reasons[j]}")
                    else:
                        refused.setdefault(str(iv.reasons[j]).split(" (")[0], []).append(name.split("/", 1)[1])
                for reason, names in refused.items():
                    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
                    notes.append(f"{len(names)} per-class value(s) without an interval ({reason}): {shown}")
                info["bootstrap"] = {"resamples": bootstrap, "seed": seed, "unit": self.unit}
        metrics: dict[str, MetricValue] = {}
        groups: dict[str, dict[str, MetricValue]] = {}
        for name, v in point.items():
            mv = MetricValue(_scalar(v), cis.get(name))
            group, _, key = name.rpartition("/")
            (groups.setdefault(group, {}) if group else metrics)[key] = mv
        result = ScoreResult(self.name, metrics, groups, info, notes, self.records(rows))
        self.finish(result, rows)
        return result


def _scalar(v: Any) -> float | int:
    """Counts stay integers; everything else is a float."""
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    return float(v)
