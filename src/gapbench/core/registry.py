"""Lazy registries: names map to ``"module:attr"`` targets imported on first use.

Modelled on lm-evaluation-harness: registering costs nothing (no import), an unknown name is
answered with the closest known names, so ``gapbench --help`` never imports torch or pyannote.
"""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry key; ``str()`` carries the did-you-mean suggestion."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


def import_target(target: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    if ":" not in target:
        raise ValueError(f"target {target!r}: expected 'module:attr'")
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Name -> object, where objects may be given as lazy ``"module:attr"`` strings."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str, *, overwrite: bool = False) -> None:
        if name in self._entries and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def suggest(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, self._entries.keys(), n=3, cutoff=0.5)

    def get(self, name: str) -> T:
        try:
            entry = self._entries[name]
        except KeyError:
            hint = self.suggest(name)
            msg = f"unknown {self.kind} {name!r}"
            msg += f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
            msg += f" (known: {', '.join(self.names()) or 'none'})"
            raise UnknownNameError(msg) from None
        if isinstance(entry, str):
            entry = import_target(entry)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]
