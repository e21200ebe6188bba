"""``.npy`` arrays for segmentation masks and classification scores, validated with clear errors.

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


def label_maps(arr: np.ndarray, file: str | None, what: str) -> np.ndarray:
    """Check an integer ``(H, W)`` or ``(N, H, W)`` array; return it as ``(N, H, W)``."""
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(file, None, f"an integer {what} array (class indices)", f"dtype {arr.dtype}")
    if arr.ndim == 2:
        return arr[None]
    if arr.ndim != 3:
        raise InputError(file, None, f"a {what} array of shape (H, W) or (N, H, W)", f"shape {arr.shape}")
    return arr


def class_scores(arr: np.ndarray, file: str | None) -> np.ndarray:
    """Check float scores ``(N, C)`` or binary ``(N,)``; NaN is rejected (inf is allowed)."""
    if (
        not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer))
        or arr.dtype == np.bool_
    ):
        raise InputError(file, None, "numeric scores (logits or probabilities)", f"dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise InputError(
            file, None, "scores of shape (N, C), or (N,) for the binary case", f"shape {arr.shape}"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise InputError(file, None, "at least one class column", f"shape {arr.shape}")
    scores = np.asarray(arr, dtype=np.float64)
    nan = np.isnan(scores)
    if nan.any():
        row = int(np.argwhere(nan)[0][0])
        raise InputError(file, f"sample {row}", "finite scores (no NaN)", "nan")
    return scores


def class_labels(arr: np.ndarray, file: str | None, num_classes: int) -> np.ndarray:
    """Check integer labels ``(N,)`` in ``[0, num_classes)``."""
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(file, None, "integer class labels", f"dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(file, None, "labels of shape (N,)", f"shape {arr.shape}")
    labels = np.asarray(arr, dtype=np.int64)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(file, f"sample {i}", f"a label in [0, {num_classes})", int(labels[i]))
    return labels
