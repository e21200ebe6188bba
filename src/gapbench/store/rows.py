"""A run as the rows of the store's tables, in plain Python (no SQLAlchemy here).

Both writers insert these rows: :class:`~gapbench.store.store.Store` through SQLAlchemy (any
database) and :mod:`~gapbench.store.sqlite_append` through the standard library's ``sqlite3``
(an existing SQLite store). Keys are the column names of :mod:`~gapbench.store.models`; foreign
keys (``run_pk``, ``result_id``) are filled in by the writer as it inserts the parent rows.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gapbench.core.provenance import new_run_id
from gapbench.core.run_document import RunDocument, SampleRecord
from gapbench.store.codec import (
    INT_METRICS_KEY,
    created_at,
    dumps,
    int_metric_names,
    int_or_none,
    severity_in,
    str_or_none,
)

#: the layout version of the tables (``gapbench_meta.schema_version``)
SCHEMA_VERSION = 1
#: the JSON columns of each table (JSONB on PostgreSQL): a None there is stored as JSON ``null``
JSON_COLUMNS = {"runs": ("provenance", "latency", "extra"), "results": ("extra",), "sample_records": ("payload",)}
#: the columns of ``sample_records`` in the order :func:`record_tuple` gives them
RECORD_COLUMNS = ("run_pk", "sample_id", "shift", "severity", "severity_int", "payload")


@dataclass
class ResultRows:
    """One ``results`` row (without ``run_pk``) and its ``metric_values`` rows (without ``result_id``)."""

    result: dict[str, Any]
    metrics: list[dict[str, Any]]


@dataclass
class RunRows:
    """Everything one save inserts. The records are kept as given and turned into rows on each
    :meth:`record_rows` call, so a writer that gives up can hand the same rows to another."""

    run_id: str
    run: dict[str, Any]
    results: list[ResultRows]
    records: list[SampleRecord | Mapping[str, Any]] | None

    def record_rows(self) -> Iterator[dict[str, Any]]:
        """``sample_records`` rows without ``run_pk``; a bad record is an InputError naming it."""
        where = f"run {self.run_id}"
        for i, rec in enumerate(self.records or ()):
            r = SampleRecord.from_json(rec, f"{where} records[{i}]")
            severity, sev_int = severity_in(r.severity)
            payload = {k: v for k, v in r.to_json().items() if k not in ("sample_id", "shift", "severity")}
            yield {"sample_id": r.sample_id, "shift": r.shift, "severity": severity, "severity_int": sev_int,
                   "payload": payload or None}


def run_rows(run: RunDocument | Mapping[str, Any],
             records: Iterable[SampleRecord | Mapping[str, Any]] | None = None) -> RunRows:
    """Validate ``run`` (a RunDocument or a dict that validates as one) and lay it out as rows."""
    doc = RunDocument.from_json(run)
    run_id = doc.run_id or new_run_id()
    prov = doc.provenance
    body = doc.to_json()
    extra = {k: v for k, v in body.items()
             if k not in ("run_id", "task", "model", "results", "latency", "provenance", "created_at")}
    run_row = {
        "run_id": run_id,
        "task": doc.task,
        "model": doc.model,
        "created_at": created_at(doc.created_at, f"run {run_id}"),
        "seed": int_or_none(prov.get("seed")),
        "git_hash": str_or_none(prov.get("git_hash")),
        "config_hash": str_or_none(prov.get("config_hash")),
        "gapbench_version": str_or_none(prov.get("gapbench_version")),
        "provenance": prov or None,
        "latency": doc.latency,
        "extra": extra or None,
    }
    results: list[ResultRows] = []
    for pos, entry in enumerate(doc.results):
        severity, sev_int = severity_in(entry.severity)
        res_json = entry.to_json()
        res_extra = {k: v for k, v in res_json.items() if k not in ("shift", "severity", "metrics")}
        ints = int_metric_names(res_json.get("metrics") or {})
        if ints:
            res_extra[INT_METRICS_KEY] = ints
        metric_rows = []
        for mpos, (name, mv) in enumerate(entry.metrics.items()):
            m = mv.to_json()
            ci = m["ci95"] or (None, None)
            metric_rows.append({"position": mpos, "name": name, "value": m["value"], "ci_lo": ci[0], "ci_hi": ci[1]})
        results.append(ResultRows({"position": pos, "shift": entry.shift, "severity": severity,
                                   "severity_int": sev_int, "extra": res_extra or None}, metric_rows))
    return RunRows(run_id, run_row, results, None if records is None else list(records))


def record_tuple(run_pk: int, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A ``sample_records`` row as the driver's plain tuple (:data:`RECORD_COLUMNS`; the payload as
    JSON text, NaN -> null): the bulk paths (COPY, executemany) skip SQLAlchemy's per-row binding."""
    payload = row["payload"]
    return (run_pk, row["sample_id"], row["shift"], row["severity"], row["severity_int"],
            None if payload is None else dumps(payload))


def insert_sql(table: str, columns: Iterable[str]) -> str:
    """``INSERT INTO table (a, b) VALUES (?, ?)``: the DB-API qmark style of ``sqlite3``."""
    cols = list(columns)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
