"""Append a run to an existing SQLite store with the standard library's ``sqlite3``.

Saving its run is all most ``gapbench run`` processes do with the store, and importing SQLAlchemy
for that costs ~0.1 s of each process (measured on this 2-core machine: ``import sqlalchemy``
0.15 s wall, cold page cache excluded). When the URL names a SQLite file that already holds this
schema version, the rows of :func:`~gapbench.store.rows.run_rows` are inserted here, bound exactly
as SQLAlchemy binds them (the tests compare both databases table by table). Anything else -- a new
file, another schema version, PostgreSQL, any error on the way -- is left to
:class:`~gapbench.store.store.Store`, which creates the schema and says what failed in one place.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from gapbench.store.codec import chunks, dumps
from gapbench.store.rows import (
    JSON_COLUMNS,
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    RunRows,
    insert_sql,
    record_tuple,
)

_PREFIX = "sqlite:///"
_CHUNK = 5000


def sqlite_file(url: str) -> Path | None:
    """The existing SQLite file a resolved store URL names, or None (no file yet, not SQLite,
    an in-memory or URI database, query parameters)."""
    if not url.startswith(_PREFIX) or "?" in url:
        return None
    db = url[len(_PREFIX):]
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    path = Path(db)
    return path if path.is_file() else None


def append_run(url: str, rows: RunRows) -> bool:
    """Insert ``rows`` in one transaction; False when nothing was written and the caller should
    save through :class:`~gapbench.store.store.Store` instead."""
    path = sqlite_file(url)
    if path is None:
        return False
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # the timeout SQLAlchemy's engine gets
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        found = conn.execute("SELECT value FROM gapbench_meta WHERE key = 'schema_version'").fetchone()
        if found is None or found[0] != str(SCHEMA_VERSION):
            return False
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: a concurrent writer waits (timeout), never deadlocks
        try:
            _insert(conn, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return True
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _insert(conn: sqlite3.Connection, rows: RunRows) -> None:
    run_pk = _insert_row(conn, "runs", rows.run)
    metric_rows: list[dict[str, Any]] = []
    for res in rows.results:
        res_id = _insert_row(conn, "results", {"run_pk": run_pk, **res.result})
        metric_rows += [{"result_id": res_id, **m} for m in res.metrics]
    if metric_rows:
        conn.executemany(insert_sql("metric_values", metric_rows[0]),
                         [tuple(m.values()) for m in metric_rows])
    if rows.records is not None:
        sql = insert_sql("sample_records", RECORD_COLUMNS)
        for chunk in chunks((record_tuple(run_pk, r) for r in rows.record_rows()), _CHUNK):
            conn.executemany(sql, chunk)


def _insert_row(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    json_cols = JSON_COLUMNS.get(table, ())
    values = [dumps(v) if k in json_cols else _bound(v) for k, v in row.items()]
    cur = conn.execute(insert_sql(table, row), values)
    assert cur.lastrowid is not None
    return cur.lastrowid


def _bound(v: Any) -> Any:
    """A value as SQLAlchemy's SQLite dialect binds it: ``DateTime`` as its fixed-width text (the
    zone dropped: the store keeps UTC), the rest (str, int, float, bool, None) as sqlite3 does."""
    if isinstance(v, datetime):
        return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
                f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}")
    return v
