"""``.npy`` arrays for segmentation masks and classification scores (their checks: core/arrays.py).

Arrays are memory-mapped where possible, so a large mask stack is read one image at a time.
Every check raises :class:`~gapbench.errors.InputError` naming the file (or ``<array>`` for an
in-memory array), the record (image / sample index) and what was expected.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.errors import InputError

ArrayLike = Any  # str | PathLike | np.ndarray | nested sequences


def load_npy(path: str | PathLike[str]) -> np.ndarray:
    """Load one ``.npy`` file (memory-mapped, no pickles)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", str(p))
    try:
        return np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(p, None, "a NumPy .npy array file (numeric, not pickled)", msg) from None


def as_array(src: ArrayLike) -> tuple[np.ndarray, str | None]:
    """``(array, file name or None)`` from a path or anything array-like."""
    if isinstance(src, (str, PathLike)):
        return load_npy(src), str(src)
    return np.asarray(src), None
