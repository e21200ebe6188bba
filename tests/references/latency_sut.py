"""The small system under test the latency tests drive: a 2-class classifier over tiny images."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gapbench.core.sample import Sample
from gapbench.latency.scenarios import SystemUnderTest
from gapbench.models.python_callable import PythonCallableModel


def pool(n: int = 8) -> list[Sample]:
    """``n`` 2x2 images labelled 0/1 alternately."""
    return [Sample(f"s{i}", np.full((2, 2), i, dtype=np.uint8), i % 2) for i in range(n)]


def sut(fn: Callable[[list[Any]], Any]) -> SystemUnderTest:
    """``fn`` (a batch in, one prediction each out) as a 2-class image classifier under test."""
    return SystemUnderTest(PythonCallableModel(fn, name="python:test"), "image-classification", num_classes=2)


def scores(batch: list[Any]) -> list[list[float]]:
    """A model that always says class 0."""
    return [[1.0, 0.0] for _ in batch]


def interrupted_at(call: int, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, except that its ``call``-th call raises KeyboardInterrupt (Ctrl-C at a known point)."""
    calls = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            raise KeyboardInterrupt
        return fn(*args, **kwargs)

    return wrapped
