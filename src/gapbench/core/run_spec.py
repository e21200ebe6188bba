"""What to run, built once by the CLI (or the suite, or a user) and hashed for provenance.

A ``RunSpec`` replaces keyword lists and hand-built config dicts: the runner reads it, the run
document embeds it, and ``config_hash`` over it tells two runs' settings apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gapbench.errors import InputError
from gapbench.shifts.base import CLEAN_CELL, ShiftCell

OnError = Literal["raise", "skip", "count"]
ON_ERROR: tuple[str, ...] = ("raise", "skip", "count")


def _int_at_least(value: Any, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(None, what, f"an integer >= {low}", value)
    return value


@dataclass(frozen=True)
class RunSpec:
    """A task, a model and how to run it: limit, seed, batching, the shift cells, the interval."""

    task: str
    model: str | None = None  # URI; None = the task's default model
    cells: tuple[ShiftCell, ...] = (CLEAN_CELL,)
    limit: int | None = None
    seed: int = 0
    batch_size: int = 32
    workers: int = 2
    bootstrap: int = 1000
    ci: bool = True
    warmup_batches: int = 1
    cache: str | None = None  # cache dir/file; None with use_cache=True = the default location
    use_cache: bool = True
    cache_sampled: bool = False  # cache outputs of non-deterministic (sampled) models too
    on_error: OnError = "raise"
    baseline: str | None = None  # corruption-error baseline: "alexnet" or a JSON file
    save_shifted: str | None = None  # directory: the first ``save_shifted_n`` shifted inputs per cell
    save_shifted_n: int = 4
    options: dict[str, Any] = field(default_factory=dict)  # task/adapter options (e.g. noise_dir)

    def __post_init__(self) -> None:
        if self.limit is not None:
            _int_at_least(self.limit, 1, "limit (number of samples)")
        _int_at_least(self.seed, 0, "seed")
        _int_at_least(self.batch_size, 1, "batch size")
        _int_at_least(self.workers, 0, "number of prefetch workers")
        _int_at_least(self.warmup_batches, 0, "number of warm-up batches")
        _int_at_least(self.save_shifted_n, 1, "number of shifted inputs to save per cell")
        if self.ci:
            _int_at_least(self.bootstrap, 1, "number of bootstrap resamples (or ci=False for no interval)")
        if self.on_error not in ON_ERROR:
            raise InputError(None, "on_error", f"one of {', '.join(ON_ERROR)}", self.on_error)
        if not self.cells:
            raise InputError(None, "shift cells", "at least one cell")

    def to_json(self) -> dict[str, Any]:
        """Everything that defines the run's results (not where the cache lives)."""
        return {
            "task": self.task,
            "model": self.model,
            "cells": [c.to_json() for c in self.cells],
            "limit": self.limit,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "workers": self.workers,
            "bootstrap": self.bootstrap if self.ci else None,
            "ci": self.ci,
            "warmup_batches": self.warmup_batches,
            "on_error": self.on_error,
            "baseline": self.baseline,
            "options": dict(self.options),
        }

    def hash(self) -> str:
        from gapbench.core.provenance import config_hash

        return config_hash(self.to_json())
