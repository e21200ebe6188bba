"""The shift contract every family implements.

A shift family is ``apply(input, reference, params, seed) -> (input, reference)``: deterministic
for its arguments, drawing randomness only from ``numpy.random.default_rng(seed)`` (never the
global stream, so results do not depend on thread count or call order). Each family declares its
parameters (with ranges), a 1-5 severity ladder mapping a level to parameters, and whether it is
geometric (moves boxes and masks with the input); photometric families return the reference
unchanged.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapbench.errors import InputError

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
CLEAN = "none"  # the clean shift's name in every document (with severity null)

ApplyFn = Callable[[Any, Any, Mapping[str, Any], np.random.Generator], tuple[Any, Any]]


@dataclass(frozen=True)
class Param:
    """One parameter of a family: its meaning, type and the values it may take."""

    name: str
    doc: str
    kind: type = float  # float, int or str
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value: Any, family: str) -> Any:
        """The value converted to ``kind``, or InputError naming the family and the parameter."""
        where = f"shift {family!r} parameter {self.name!r}"
        if self.kind is str:
            value = str(value)
            if self.choices and value not in self.choices:
                raise InputError(None, where, f"one of {', '.join(self.choices)}", value)
            return value
        try:
            num = self.kind(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            num = None
        if num is None or (isinstance(num, float) and not math.isfinite(num)):
            raise InputError(None, where, f"a finite {self.kind.__name__}", value)
        if self.kind is int and float(value) != num:
            raise InputError(None, where, "an integer", value)
        if (self.low is not None and num < self.low) or (self.high is not None and num > self.high):
            raise InputError(None, where, f"a value in [{self.low}, {self.high}]", value)
        return num


@dataclass(frozen=True)
class ShiftFamily:
    """A named corruption with declared parameters and a 1-5 ladder."""

    name: str
    modality: str  # "image" or "audio"
    description: str
    fn: ApplyFn = field(repr=False)
    params: tuple[Param, ...] = ()
    ladder: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    geometric: bool = False
    min_size: int | None = None  # images: the smallest H and W the family supports

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        names = [p.name for p in self.params]
        hint = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        exp = f"a parameter of {self.name!r} ({', '.join(names) or 'none'})"
        raise InputError(None, f"shift {self.name!r} parameter {name!r}",
                         exp + (f"; did you mean {hint[0]!r}?" if hint else ""))

    def params_for(self, severity: int | None = None, **overrides: Any) -> dict[str, Any]:
        """The ladder's parameters at ``severity`` (if given), updated by checked ``overrides``."""
        out: dict[str, Any] = {}
        if severity is not None:
            if severity not in self.ladder:
                raise InputError(None, f"shift {self.name!r}",
                                 f"a severity in {sorted(self.ladder)}", severity)
            out.update(self.ladder[severity])
        for k, v in overrides.items():
            out[k] = self.param(k).check(v, self.name)
        return out

    def apply(self, input: Any, reference: Any, params: Mapping[str, Any], seed: int) -> tuple[Any, Any]:  # noqa: A002
        """Run the family with ``params`` (see :meth:`params_for`) and a seed of its own."""
        return self.fn(input, reference, params, np.random.default_rng(int(seed)))


@dataclass(frozen=True)
class ShiftCell:
    """One cell of a sweep: a family at a severity (a ladder level, or the swept parameter's
    value) with the parameters actually applied. The clean cell is ``CLEAN_CELL``."""

    shift: str = CLEAN
    severity: int | float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    swept: str | None = None  # the parameter whose value ``severity`` is; None for a ladder level

    @property
    def is_clean(self) -> bool:
        return self.shift == CLEAN

    def label(self) -> str:
        if self.is_clean:
            return CLEAN
        return self.shift if self.severity is None else f"{self.shift}@{self.severity}"

    def to_json(self) -> dict[str, Any]:
        out = {"shift": self.shift, "severity": self.severity, "params": dict(self.params)}
        if self.swept:
            out["swept"] = self.swept
        return out


CLEAN_CELL = ShiftCell()
