"""Moving a sample's reference with a geometric image shift (boxes and label masks).

A geometric family describes its warp twice: ``forward(points)`` maps input (x, y) points to
output coordinates (for boxes) and ``sample(mask)`` resamples an H x W label mask with nearest
neighbour (for masks). References supported: ``None``, class labels (int/str, unchanged), a dict
with COCO-style ``"boxes": [[x, y, w, h], ...]`` (other keys kept), and a 2-D integer mask.
Boxes are never dropped, so per-box lists beside them stay aligned: a box pushed out of the
frame becomes zero-sized at the border.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gapbench.errors import InputError

PointMap = Callable[[np.ndarray], np.ndarray]  # (N, 2) x, y -> (N, 2) x, y
MaskMap = Callable[[np.ndarray], np.ndarray]

_EDGE_POINTS = 33  # points sampled per box side: warped boxes are the bounds of their outline


def _box_outline(boxes: np.ndarray) -> np.ndarray:
    """(N, 4 * k, 2) points on each box's outline."""
    t = np.linspace(0.0, 1.0, _EDGE_POINTS)
    x, y, w, h = (boxes[:, i : i + 1] for i in range(4))
    xs = np.concatenate([x + w * t, x + w + 0 * t, x + w * t, x + 0 * t], axis=1)
    ys = np.concatenate([y + 0 * t, y + h * t, y + h + 0 * t, y + h * t], axis=1)
    return np.stack([xs, ys], axis=-1)


def move_boxes(boxes: Any, forward: PointMap, shape: tuple[int, int], family: str) -> list[list[float]]:
    """Boxes [x, y, w, h] after the warp: the bounds of each moved outline, clipped to the frame."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return []
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InputError(None, f"shift {family!r} reference", "boxes as [[x, y, w, h], ...]", np.shape(boxes))
    pts = _box_outline(arr)
    moved = forward(pts.reshape(-1, 2)).reshape(pts.shape)
    h, w = shape
    x0 = np.clip(moved[..., 0].min(axis=1), 0, w)
    x1 = np.clip(moved[..., 0].max(axis=1), 0, w)
    y0 = np.clip(moved[..., 1].min(axis=1), 0, h)
    y1 = np.clip(moved[..., 1].max(axis=1), 0, h)
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).tolist()


def boxes_by_sampling(sy: np.ndarray, sx: np.ndarray) -> PointMap:
    """A box mover for warps that need not be invertible (elastic): ``(sy, sx)`` are the input
    coordinates each output pixel samples; a moved box bounds the output pixels that sample inside
    it. Returned as a ``forward`` stand-in taking the (N, 4k, 2) outlines ``move_boxes`` builds."""
    cy, cx = sy.ravel() + 0.5, sx.ravel() + 0.5  # pixel centres in box (edge) coordinates
    h, w = sy.shape
    rows, cols = np.divmod(np.arange(h * w), w)

    def forward(outline: np.ndarray) -> np.ndarray:
        out = np.empty_like(outline)
        pts = outline.reshape(-1, 4 * _EDGE_POINTS, 2)
        res = out.reshape(pts.shape)
        for i, p in enumerate(pts):
            x0, y0 = p[:, 0].min(), p[:, 1].min()
            x1, y1 = p[:, 0].max(), p[:, 1].max()
            inside = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
            if inside.any():
                r, c = rows[inside], cols[inside]
                corners = [[c.min(), r.min()], [c.max() + 1, r.max() + 1]]
            else:
                corners = [[x0, y0], [x0, y0]]
            res[i] = corners[0]
            res[i, -1] = corners[1]
        return out

    return forward


def move_reference(
    reference: Any, forward: PointMap, sample_mask: MaskMap, shape: tuple[int, int], family: str
) -> Any:
    """The reference of a geometric shift's output (see the module docstring for the types)."""
    if reference is None or isinstance(reference, (int, str, np.integer)):
        return reference
    if isinstance(reference, dict):
        out = dict(reference)
        if "boxes" in out:
            out["boxes"] = move_boxes(out["boxes"], forward, shape, family)
        if "segmentations" in out:  # instance masks are not moved: segm is not scored under this shift
            del out["segmentations"]
            out["segmentations_moved_by"] = family
        return out
    if (
        isinstance(reference, np.ndarray)
        and reference.ndim == 2
        and (np.issubdtype(reference.dtype, np.integer) or reference.dtype == bool)
    ):
        if reference.shape != tuple(shape):
            raise InputError(
                None, f"shift {family!r} reference", f"a mask of the image's shape {shape}", reference.shape
            )
        return sample_mask(reference)
    raise InputError(
        None,
        f"shift {family!r} reference",
        "None, a label, a dict with 'boxes' [[x, y, w, h], ...] or a 2-D integer mask",
        type(reference).__name__,
    )
