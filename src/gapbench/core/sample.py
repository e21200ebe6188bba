"""A sample is one evaluation unit: an id, a model input, the reference answer.

Samples are addressed by a content hash (``key``) so caches, shards and resumption do not depend
on file order or on which worker loaded them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapbench.errors import InputError


def content_hash(obj: Any) -> str:
    """A stable short hash of arrays, bytes, strings and JSON-able structures."""
    h = hashlib.blake2b(digest_size=16)
    _feed(h, obj)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, np.ndarray):
        h.update(f"nd{obj.dtype.str}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        h.update(b"b")
        h.update(bytes(obj))
    elif isinstance(obj, dict):
        h.update(b"d")
        for k in sorted(obj):
            _feed(h, str(k))
            _feed(h, obj[k])
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # field by field (arrays included): repr() would summarise an image and merge distinct inputs
        h.update(f"dc{type(obj).__qualname__}".encode())
        for f in dataclasses.fields(obj):
            _feed(h, f.name)
            _feed(h, getattr(obj, f.name))
    elif isinstance(obj, (list, tuple)):
        h.update(f"l{len(obj)}".encode())
        for x in obj:
            _feed(h, x)
    else:
        h.update(json.dumps(obj, sort_keys=True, default=str).encode())


@dataclass(frozen=True)
class UnreadableSample:
    """A data set item that could not be read (a corrupt image, a size that contradicts its
    annotation): a run skips it under ``--on-error skip|count`` and raises ``error`` otherwise.
    Data sets that decode lazily yield it in the item's place, so one bad file costs one sample."""

    id: str
    error: InputError


@dataclass(frozen=True)
class Sample:
    """``input`` is what the model sees (array, path, text); ``reference`` is the truth."""

    id: str
    input: Any
    reference: Any
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Content address: the same input and reference hash the same wherever loaded."""
        return content_hash([self.id, self.input, self.reference])
