"""The results store: runs, metric values, per-sample records and provenance (SQLite or PostgreSQL).

``from gapbench.store import open_store`` stays cheap: SQLAlchemy is imported on first use.

    store = open_store()                  # $GAPBENCH_STORE, else SQLite in the user data dir
    run_id = store.save_run(run, records)
    run_id = save_run(run, records, url)  # the same, without SQLAlchemy when the SQLite store exists
    store.get_run(run_id); store.get_records(run_id, shift="fog"); store.list_runs(task="asr")
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gapbench.store.errors import RunNotFoundError, StoreError
    from gapbench.store.save import save_run
    from gapbench.store.store import Store, open_store
    from gapbench.store.urls import default_url, masked_url, normalise_url, resolve_url

__all__ = [
    "RunNotFoundError",
    "Store",
    "StoreError",
    "default_url",
    "masked_url",
    "normalise_url",
    "open_store",
    "resolve_url",
    "save_run",
]


def __getattr__(name: str) -> Any:
    if name in ("default_url", "masked_url", "normalise_url", "resolve_url"):
        return getattr(importlib.import_module("gapbench.store.urls"), name)
    if name == "save_run":
        return importlib.import_module("gapbench.store.save").save_run
    if name in ("RunNotFoundError", "StoreError"):
        return getattr(importlib.import_module("gapbench.store.errors"), name)
    if name in __all__:
        return getattr(importlib.import_module("gapbench.store.store"), name)
    raise AttributeError(f"module 'gapbench.store' has no attribute {name!r}")
