"""Shift families by name, loaded lazily from the modules that define them, and the per-sample seed.

Each module exports a ``dict[str, ShiftFamily]``; a module not installed (its optional
dependencies missing) simply contributes nothing, so ``gapbench shifts`` lists what works here.
"""
from __future__ import annotations

import difflib
import importlib
from functools import lru_cache

from gapbench.core.registry import UnknownNameError
from gapbench.core.sample import content_hash
from gapbench.shifts.base import CLEAN, ShiftFamily

# "module:attr" of each dict[str, ShiftFamily]
FAMILY_SOURCES: tuple[str, ...] = (
    "gapbench.shifts.image:IMAGE_FAMILIES",
    "gapbench.shifts.audio:AUDIO_FAMILIES",
)


@lru_cache(maxsize=1)
def families() -> dict[str, ShiftFamily]:
    """Every shift family available here, by name."""
    out: dict[str, ShiftFamily] = {}
    for source in FAMILY_SOURCES:
        module_name, _, attr = source.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (exc.name == module_name or not exc.name.startswith("gapbench")):
                continue  # not built, or an optional dependency missing
            raise
        out.update(getattr(module, attr))
    return out


def shift_names() -> list[str]:
    """``none`` first, then every family."""
    return [CLEAN, *sorted(families())]


def get_family(name: str) -> ShiftFamily:
    """A family by name; unknown names get the did-you-mean line."""
    fams = families()
    if name in fams:
        return fams[name]
    known = shift_names()
    hint = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    msg = f"unknown shift {name!r}"
    msg += f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
    raise UnknownNameError(msg + f" (known: {', '.join(known)})")


def sample_seed(seed: int, key: str) -> int:
    """The per-sample seed of a shift: depends on the run seed and the sample's content only."""
    return int(content_hash([int(seed), key])[:8], 16)
