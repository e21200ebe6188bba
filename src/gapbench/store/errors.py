"""The store's errors, apart from the store: the CLI catches them in every process, and importing
:mod:`gapbench.store.store` would import SQLAlchemy (~0.15 s) in processes that never save."""
from __future__ import annotations


class StoreError(RuntimeError):
    """The store cannot do what was asked (cannot connect, duplicate run id, newer schema...)."""


class RunNotFoundError(StoreError, LookupError):
    """No run with this id in the store."""
