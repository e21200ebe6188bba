"""Paired comparison of two systems on the same units, for every family on the component base.

Both systems are resampled with the same draws (Koehn 2004; Bisani & Ney 2004); the p-value is
the two-sided test of a zero difference with the bootstrap distribution shifted to the null
(:func:`gapbench.metrics.intervals.paired_bootstrap`). Units are matched by id; the ids must be the
same on both sides.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gapbench.core.metric import ComponentMetric
from gapbench.core.results import CompareResult, MetricValue
from gapbench.data.text_pairs import check_same_ids
from gapbench.errors import InputError
from gapbench.metrics import intervals


def compare_metrics(a: ComponentMetric, b: ComponentMetric, name: str, *, a_label: str, b_label: str,
                    bootstrap: int = intervals.DEFAULT_RESAMPLES, seed: int = intervals.DEFAULT_SEED,
                    ci: bool = True) -> CompareResult:
    """``name``(A) - ``name``(B) with its paired 95% interval and p-value."""
    if ci and (isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1):
        raise InputError(None, "number of bootstrap resamples", "an integer >= 1 (or ci=False)", bootstrap)
    check_same_ids(a.unit_ids(), b.unit_ids(), a_label, b_label)
    resamples = bootstrap if ci else 0
    n = len(a.ids)
    test = _paired(a, b, a.unit_ids(), name, resamples, seed)
    ra, rb = a.compute(bootstrap=bootstrap, seed=seed, ci=ci), b.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    notes: list[str] = []
    if resamples and test.ci95 is None:
        notes.append(f"only {n} {a.unit}(s), or the difference is undefined: no bootstrap test")
    info: dict[str, Any] = {"a": a_label, "b": b_label, f"{a.unit}s": n}
    p_floor = 1.0 / (test.resamples + 1) if test.resamples else None
    if test.resamples:
        info["bootstrap"] = {"resamples": test.resamples, "seed": seed, "unit": a.unit, "paired": True}
        info["p_value_floor"] = p_floor
    return CompareResult(
        kind=a.name, metric=name, a=ra.metrics.get(name, MetricValue(test.a)),
        b=rb.metrics.get(name, MetricValue(test.b)), diff=MetricValue(test.diff, test.ci95),
        p_value=test.p_value, n=n, info=info, notes=notes + ra.notes,
    )


def _rows(m: ComponentMetric, ids: list[str]) -> np.ndarray:
    index = {u: k for k, u in enumerate(m.unit_ids())}
    return m.unit_rows(m.table()).astype(np.float64)[[index[u] for u in ids]]


def _paired(a: ComponentMetric, b: ComponentMetric, ids: list[str], name: str, resamples: int,
            seed: int) -> intervals.PairedTest:
    ta, tb = _rows(a, ids), _rows(b, ids)
    return intervals.paired_bootstrap(lambda c: np.asarray(a.values(c @ ta)[name], dtype=float),
                                  lambda c: np.asarray(b.values(c @ tb)[name], dtype=float),
                                  len(ids), resamples, seed)


def paired_test(a: ComponentMetric, b: ComponentMetric, name: str, ids: list[str], resamples: int,
                seed: int) -> intervals.PairedTest:
    """``name``(A) - ``name``(B) over the units ``ids`` (both metrics must hold them), paired:
    what ``compare runs`` asks per cell and metric."""
    return _paired(a, b, ids, name, resamples, seed)


def paired_difference(a: Any, b: Any, name: str, resamples: int, seed: int
                      ) -> tuple[tuple[float, float] | None, int] | None:
    """The 95% interval of ``name``(B) - ``name``(A) over the units both have (a sweep cell
    against clean, where skipped samples drop out), and how many; None for metrics that are not
    on the component base."""
    if not isinstance(a, ComponentMetric) or not isinstance(b, ComponentMetric):
        return None
    common = set(b.unit_ids())
    ids = [u for u in a.unit_ids() if u in common]
    if not ids:
        return None, 0
    test = _paired(b, a, ids, name, resamples, seed)
    return test.ci95, len(ids)
