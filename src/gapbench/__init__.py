"""gapbench: measure the reality gap of vision and speech models.

The public API is lazy so that ``import gapbench`` (and ``gapbench --help``) stays fast:
``from gapbench import score; score.wer("pairs.jsonl")``.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {"score", "compare", "core", "metrics", "data", "models", "runner", "store", "latency"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"gapbench.{name}")
    raise AttributeError(f"module 'gapbench' has no attribute {name!r}")
