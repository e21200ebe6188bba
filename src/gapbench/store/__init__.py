"""The results store: runs, metric values, per-sample records and provenance (SQLite or PostgreSQL).

``from gapbench.store import open_store`` stays cheap: SQLAlchemy is imported on first use.

    store = open_store()                  # $GAPBENCH_STORE, else SQLite in the user data dir
    run_id = store.save_run(run, records)
    store.get_run(run_id); store.get_records(run_id, shift="fog"); store.list_runs(task="asr")
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gapbench.store.store import RunNotFoundError, Store, StoreError, open_store
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
]


def __getattr__(name: str) -> Any:
    if name in ("default_url", "masked_url", "normalise_url", "resolve_url"):
        return getattr(importlib.import_module("gapbench.store.urls"), name)
    if name in __all__:
        return getattr(importlib.import_module("gapbench.store.store"), name)
    raise AttributeError(f"module 'gapbench.store' has no attribute {name!r}")
