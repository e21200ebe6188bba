"""Two runs of one task on one data set, compared cell by cell and metric by metric, paired.

Which runs can be compared: the same task, the same data set (the run document's
``dataset.fingerprint``, sha256 over the sorted sample keys, :mod:`gapbench.core.run_document`)
and the same sample ids. Anything else is refused with one line saying which differs
(:class:`RunsNotComparable`): a difference between two runs on different data would be a
silently wrong number.

Per cell (shift, severity, params present in both runs) and per metric, A and B are the runs' own
stored values (with their intervals); the difference A - B gets the paired bootstrap interval and
p-value of :mod:`gapbench.scoring.compare` (the same draws of samples for both runs, Koehn 2004),
computed from the metric states each record carries (:mod:`gapbench.scoring.run_states`). COCO
stats (every summarize() stat, box, segm and OCR's text lines) are tested with
:func:`gapbench.scoring.coco.paired_coco_tests`. Each test goes to the name the run gave the value
(``segm_AP`` beside the box ``AP``: :func:`gapbench.core.results.unclash`). A metric without a state
in the records (runs saved before states were recorded, counts) gets the point difference and a note,
never an interval it does not have. OCR's text-line stats are tested as COCO stats too, from the
detection state nested in the OCR metric's.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gapbench.core.results import unclash
from gapbench.core.run_document import RunDocument
from gapbench.errors import InputError
from gapbench.metrics import intervals
from gapbench.scoring.run_states import HEADERS_KEY, STATE_KEY, rebuild

KIND = "compare-runs"


class RunsNotComparable(InputError):
    """Two runs that must not be compared: says what differs, with both sides."""

    def __init__(self, what: str, a: object, b: object) -> None:
        self.detail = f"runs not comparable: {what} differ (A: {a}; B: {b})"
        super().__init__(None, None, what)

    def one_line(self) -> str:
        return self.detail


# ---- reading a run ---------------------------------------------------------------------------


def load_run(ref: str | os.PathLike[str], store: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """``(run document, records, label)`` of a run id in the store or a run JSON file.

    A file's records are read from ``<run_id>.records.jsonl`` beside it (``gapbench run`` writes
    both), else from the store by the file's run id. ``store``: an open store or a URL (None: the
    default store), opened only when needed.
    """
    path = Path(ref)
    if str(ref).endswith(".json") or path.is_file():
        try:
            doc = json.loads(path.read_text())
        except ValueError as exc:
            raise InputError(str(path), None, "a run document (JSON)", str(exc).splitlines()[0]) from None
        RunDocument.from_json(doc, str(path))  # validates
        side = path.with_name(path.name[: -len(".json")] + ".records.jsonl") if path.name.endswith(".json") else None
        if side is not None and side.is_file():
            return doc, _read_jsonl(side), str(path)
        if doc.get("run_id"):
            try:
                return doc, _with_store(store, lambda st: st.get_records(doc["run_id"])), str(path)
            except LookupError:
                pass
        raise InputError(str(path), None, f"its per-sample records: {side.name if side else 'RUN.records.jsonl'} "
                         "beside it, or the run in the store")
    doc = _with_store(store, lambda st: st.get_run(str(ref)))
    return doc, _with_store(store, lambda st: st.get_records(str(ref))), str(ref)


def _with_store(store: Any, fn: Any) -> Any:
    if store is not None and not isinstance(store, (str, os.PathLike)):
        return fn(store)
    from gapbench.store import open_store

    with open_store(store) as st:
        return fn(st)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open() as f:
        for i, line in enumerate(f, start=1):
            if line.strip():
                try:
                    rec = json.loads(line)
                except ValueError:
                    raise InputError(str(path), i, "a JSON record") from None
                if not isinstance(rec, Mapping) or "sample_id" not in rec:
                    raise InputError(str(path), i, "a record with a sample_id", type(rec).__name__)
                out.append(dict(rec))
    return out


# ---- the comparison --------------------------------------------------------------------------


def _cell_key(r: Mapping[str, Any]) -> tuple[str, Any, str]:
    return (str(r.get("shift")), r.get("severity"), json.dumps(r.get("params") or {}, sort_keys=True))


def _cell_label(r: Mapping[str, Any]) -> str:
    return "clean" if r.get("shift") == "none" else f"{r.get('shift')}@{r.get('severity')}"


def check_comparable(a: Mapping[str, Any], b: Mapping[str, Any], rec_a: list[dict[str, Any]],
                     rec_b: list[dict[str, Any]]) -> None:
    """Raise :class:`RunsNotComparable` unless both runs are of one task on one data set and sample ids."""
    if a.get("task") != b.get("task"):
        raise RunsNotComparable("tasks", a.get("task"), b.get("task"))
    for name, doc in (("A", a), ("B", b)):
        if doc.get("kind", "run") != "run" or not isinstance(doc.get("dataset"), Mapping):
            raise InputError(None, f"run {name} ({doc.get('run_id')})", "a run document with a dataset fingerprint "
                             f"(made by `gapbench run`), got kind {doc.get('kind', 'run')!r}")
    fa, fb = a["dataset"].get("fingerprint"), b["dataset"].get("fingerprint")
    if fa != fb:
        raise RunsNotComparable("dataset fingerprints", _ds(a), _ds(b))
    ids_a, ids_b = {str(r["sample_id"]) for r in rec_a}, {str(r["sample_id"]) for r in rec_b}
    if ids_a != ids_b:
        only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
        raise RunsNotComparable("sample id sets", f"{len(only_a)} id(s) only here {only_a[:3]}",
                                f"{len(only_b)} id(s) only here {only_b[:3]}")


def _ds(doc: Mapping[str, Any]) -> str:
    d = doc["dataset"]
    return f"{d.get('name')}, {d.get('n_samples')} samples, fingerprint {str(d.get('fingerprint'))[:12]}"


def compare_runs(a: Mapping[str, Any], rec_a: list[dict[str, Any]], b: Mapping[str, Any],
                 rec_b: list[dict[str, Any]], *, labels: tuple[str, str] = ("A", "B"),
                 bootstrap: int = intervals.DEFAULT_RESAMPLES, seed: int = intervals.DEFAULT_SEED,
                 ci: bool = True) -> dict[str, Any]:
    """The paired comparison of two run documents with their records (shape: docs/json-shapes.md)."""
    if ci and (isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1):
        raise InputError(None, "number of bootstrap resamples", "an integer >= 1 (or ci=False)", bootstrap)
    check_comparable(a, b, rec_a, rec_b)
    resamples = bootstrap if ci else 0
    cells_b = {_cell_key(r): i for i, r in enumerate(b.get("results") or [])}
    by_cell_a, by_cell_b = _by_cell(rec_a), _by_cell(rec_b)
    info = dict(a.get("metric_info") or {}, **(b.get("metric_info") or {}))
    notes: list[str] = []
    cells = []
    for ia, ra in enumerate(a.get("results") or []):
        ib = cells_b.pop(_cell_key(ra), None)
        if ib is None:
            notes.append(f"cell {_cell_label(ra)} only in A: not compared")
            continue
        rb = b["results"][ib]
        headers = (_headers(a, ia), _headers(b, ib))
        cells.append(_compare_cell(ra, rb, headers, (by_cell_a.get(ia, []), by_cell_b.get(ib, [])), info,
                                   resamples, seed))
    notes += [f"cell {_cell_label(b['results'][ib])} only in B: not compared" for ib in cells_b.values()]
    if not any(by_cell_a.values()) or not any(by_cell_b.values()):
        old = [name for name, recs in (("A", by_cell_a), ("B", by_cell_b)) if not any(recs.values())]
        notes.append(f"run {' and '.join(old)} has no per-sample metric states (saved before gapbench recorded "
                     "them): differences without intervals; rerun to test them")
    out: dict[str, Any] = {
        "kind": KIND,
        "task": a["task"],
        "dataset": {k: a["dataset"].get(k) for k in ("name", "n_samples", "fingerprint")},
        "a": _side(a, labels[0]),
        "b": _side(b, labels[1]),
        "cells": cells,
    }
    if resamples:
        out["bootstrap"] = {"resamples": resamples, "seed": seed, "unit": "sample", "paired": True,
                            "p_value_floor": 1.0 / (resamples + 1)}
    if notes:
        out["notes"] = notes
    return out


def _side(doc: Mapping[str, Any], label: str) -> dict[str, Any]:
    return {"run_id": doc.get("run_id"), "model": doc.get("model"), "source": label,
            "created_at": doc.get("created_at")}


def _headers(doc: Mapping[str, Any], i: int) -> list[Any]:
    all_headers = doc.get(HEADERS_KEY) or []
    return list(all_headers[i]) if i < len(all_headers) and all_headers[i] else []


def _by_cell(records: list[dict[str, Any]]) -> dict[int, list[tuple[str, list[Any]]]]:
    out: dict[int, list[tuple[str, list[Any]]]] = {}
    for r in records:
        st = r.get(STATE_KEY)
        if isinstance(st, Mapping) and isinstance(st.get("cell"), int) and isinstance(st.get("rows"), list):
            out.setdefault(st["cell"], []).append((str(r["sample_id"]), st["rows"]))
    return out


def _metric(header: Any, units: list[tuple[str, list[Any]]], j: int, ids: list[str]) -> Any:
    rows = dict((u, r[j] if j < len(r) else None) for u, r in units)
    if not isinstance(header, Mapping) or any(rows.get(u) is None for u in ids):
        return None
    return rebuild(header, ids, [rows[u] for u in ids])


def _compare_cell(ra: Mapping[str, Any], rb: Mapping[str, Any], headers: tuple[list[Any], list[Any]],
                  units: tuple[list[Any], list[Any]], info: Mapping[str, Any], resamples: int,
                  seed: int) -> dict[str, Any]:
    from gapbench.core.metric import ComponentMetric
    from gapbench.scoring.compare import paired_test

    notes: list[str] = []
    ids_b = {u for u, _ in units[1]}
    ids = [u for u, _ in units[0] if u in ids_b]  # A's order; skipped samples drop out
    n_a, n_b = len(units[0]), len(units[1])
    if ids and (len(ids) < n_a or len(ids) < n_b):
        notes.append(f"A - B and its test are over the {len(ids)} samples both runs scored (A scored {n_a}, "
                     f"B {n_b}); A and B are each run's own value")
    tests: dict[str, Any] = {}
    settings = [[(h.get("metric"), h.get("config")) if h else None for h in hs] for hs in headers]
    if headers[0] and headers[1] and settings[0] != settings[1]:
        raise RunsNotComparable(f"metric settings of cell {_cell_label(ra)}", [s and s[1] for s in settings[0]],
                                [s and s[1] for s in settings[1]])
    taken: set[str] = set()  # the names earlier metrics of the run use (the runner's unclash order)
    for j in range(len(headers[0]) if ids and headers[1] else 0):
        ma, mb = _metric(headers[0][j], units[0], j, ids), _metric(headers[1][j], units[1], j, ids)
        if ma is None or mb is None:
            continue
        kind = str(getattr(ma, "name", "metric"))
        found: dict[str, Any] = {}
        if isinstance(ma, ComponentMetric):
            names = list(ma.values(ma.unit_rows(ma.table()).sum(axis=0)[None, :]))
            found = {name: paired_test(ma, mb, name, ids, resamples, seed)
                     for name in ma.interval_names([n for n in names if "/" not in n])}
            nested = getattr(ma, "detection", None), getattr(mb, "detection", None)  # OCR's text lines
            if all(hasattr(m, "to_coco") for m in nested):
                found.update(_coco_tests(*nested, resamples, seed, notes))
        else:
            found = _coco_tests(ma, mb, resamples, seed, notes)
        named = {unclash(kind, name, taken): test for name, test in found.items()}
        tests.update(named)
        taken |= set(named) | set(getattr(ma, "declared", {}))
    metrics: dict[str, Any] = {}
    for name, mva in (ra.get("metrics") or {}).items():
        mvb = (rb.get("metrics") or {}).get(name)
        if mvb is None:
            continue
        metrics[name] = _row(name, mva, mvb, tests.get(name), info.get(name), notes,
                             (len(ids) == n_a, len(ids) == n_b))
    out = {"shift": ra.get("shift"), "severity": ra.get("severity"), "params": ra.get("params") or {},
           "n": len(ids) if ids else min(int(ra.get("n") or 0), int(rb.get("n") or 0)), "metrics": metrics}
    if notes:
        out["notes"] = notes
    return out


def _coco_tests(ma: Any, mb: Any, resamples: int, seed: int, notes: list[str]) -> dict[str, Any]:
    from gapbench.scoring.coco import paired_coco_tests

    gt_a, dt_a = ma.to_coco()
    gt_b, dt_b = mb.to_coco()
    if gt_a != gt_b:
        notes.append(f"{ma.iou_type}: the runs' ground truth differs in this cell: no paired test")
        return {}
    if not gt_a.get("annotations"):
        return {}
    tests, why = paired_coco_tests(gt_a, dt_a, dt_b, iou_type=ma.iou_type, resamples=resamples, seed=seed)
    notes.extend(f"{ma.iou_type}: {n}" for n in why)
    return tests


def _value(mv: Any) -> float | None:
    v = mv.get("value") if isinstance(mv, Mapping) else mv
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _row(name: str, mva: Any, mvb: Any, test: Any, meta: Any, notes: list[str],
         whole: tuple[bool, bool]) -> dict[str, Any]:
    """A, B as stored; A - B (over the paired samples when a test was made: where one run skipped a
    sample, the stored values cover more samples than the pair). ``whole``: whether the pair is each
    run's whole cell, where the records must reproduce the stored value."""
    a, b = _value(mva), _value(mvb)
    diff = None if a is None or b is None else a - b
    if test is not None and not (isinstance(test.diff, float) and math.isnan(test.diff)):
        diff = float(test.diff)
    row: dict[str, Any] = {"a": _mv(mva), "b": _mv(mvb), "diff": {"value": diff, "ci95": None}, "p_value": None}
    if test is not None:
        for side, stored, check in (("A", a, whole[0]), ("B", b, whole[1])):
            got = test.a if side == "A" else test.b
            if not check:
                continue
            if stored is not None and not (isinstance(got, float) and math.isnan(got)) \
                    and abs(got - stored) > 1e-9 * max(1.0, abs(stored)):
                notes.append(f"{name}: run {side}'s records give {got:.6g}, its result says {stored:.6g}")
        if test.ci95 is not None:
            row["diff"]["ci95"] = [float(test.ci95[0]), float(test.ci95[1])]
            row["p_value"] = float(test.p_value)
    if isinstance(meta, Mapping) and "higher_is_better" in meta:
        row["higher_is_better"] = bool(meta["higher_is_better"])
    return row


def _mv(mv: Any) -> dict[str, Any]:
    if isinstance(mv, Mapping):
        return {"value": _value(mv), "ci95": mv.get("ci95")}
    return {"value": _value(mv), "ci95": None}
