"""Save a run: the one call ``gapbench run`` (and the suite) make, and the cheapest way to make it."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from gapbench.core.run_document import RunDocument, SampleRecord
from gapbench.store.rows import run_rows
from gapbench.store.sqlite_append import append_run
from gapbench.store.urls import resolve_url


def save_run(run: RunDocument | Mapping[str, Any],
             records: Iterable[SampleRecord | Mapping[str, Any]] | None = None,
             url: str | os.PathLike[str] | None = None) -> str:
    """Save one run and its records in one transaction; returns the run id. Appended with ``sqlite3``
    to an existing SQLite store (:mod:`.sqlite_append`), else through :func:`~gapbench.store.open_store`
    (which creates the store and reports every failure as one StoreError)."""
    rows = run_rows(run, records)
    resolved = resolve_url(url)
    if append_run(resolved, rows):
        return rows.run_id
    from gapbench.store.store import open_store

    with open_store(resolved) as store:
        return store.save_rows(rows)
