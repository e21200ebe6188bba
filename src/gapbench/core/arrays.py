"""Array coercion shared by metrics and loaders: class scores, labels and label maps, checked.

Every check raises :class:`~gapbench.errors.InputError` naming the file (or None for an in-memory
array), the record (image / sample index) and what was expected.
"""

from __future__ import annotations

import numpy as np

from gapbench.errors import InputError


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
        raise InputError(file, None, "scores of shape (N, C), or (N,) for the binary case", f"shape {arr.shape}")
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


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere (undefined, not zero), without warnings."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def nanmean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean along ``axis`` ignoring NaN; NaN where all are NaN (no warnings: thread-safe)."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    cnt = ok.sum(axis)
    tot = np.where(ok, x, 0.0).sum(axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
