"""Instance masks of detections as compressed COCO RLE dicts (what COCO results files hold).

A model may give each detection's mask as a binary ``H x W`` array or as a COCO RLE dict
(``{"size": [h, w], "counts": str | bytes | list}``). They are stored one way only: the compressed
RLE of pycocotools' ``maskApi`` (Lin et al. 2014, the ``segmentation`` field of the COCO results
format), ``counts`` a ``str`` so the prediction is JSON for the response cache and the results file.
Arrays are encoded with the engine's ``mask.encode`` (faster-coco-eval, the same column-major RLE
as ``pycocotools.mask.encode``); uncompressed (list) counts are compressed with ``frPyObjects``;
a compressed string is checked with :func:`gapbench.core.coco_masks.rle_problem` so a malformed
one never reaches the engine. Whether the size is the image's is checked where the image's size
is known (the COCO metric's detection check).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gapbench.core.coco_masks import rle_problem


def _mask_api() -> Any:
    try:
        from faster_coco_eval.core import mask
    except ImportError:  # pragma: no cover - the vision extra ships faster-coco-eval
        from pycocotools import mask  # type: ignore[no-redef]
    return mask


def to_rle(mask: Any) -> dict[str, Any]:
    """One mask (binary ``H x W`` array or COCO RLE dict) as ``{"size": [h, w], "counts": str}``.

    ``ValueError`` saying what is wrong (the caller turns it into its own error line)."""
    if isinstance(mask, Mapping):
        if "size" not in mask or "counts" not in mask:
            raise ValueError(f"an RLE dict needs 'size' and 'counts' (got keys {sorted(mask)})")
        size = mask["size"]
        if not (isinstance(size, Sequence) and len(size) == 2 and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in size)):
            raise ValueError(f"RLE 'size' must be [height, width], two non-negative integers (got {size!r})")
        h, w = int(size[0]), int(size[1])
        counts = mask["counts"]
        if isinstance(counts, bytes):
            counts = counts.decode("ascii", "replace")
        if isinstance(counts, str):
            problem = rle_problem(counts, h * w)
            if problem:
                raise ValueError(f"RLE 'counts' is not a compressed COCO RLE of {h}x{w} pixels: {problem}")
            return {"size": [h, w], "counts": counts}
        if isinstance(counts, (list, tuple, np.ndarray)):
            runs = [int(v) for v in counts]
            if any(v < 0 for v in runs) or sum(runs) != h * w:
                raise ValueError(f"uncompressed RLE 'counts' must be non-negative and sum to {h}*{w}")
            rle = _mask_api().frPyObjects({"size": [h, w], "counts": runs}, h, w)
            return _plain(rle)
        raise ValueError(f"RLE 'counts' must be a string or a list of integers (got {type(counts).__name__})")
    arr = np.asarray(mask)
    if arr.ndim != 2 or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.integer)
                             or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"a mask must be a binary H x W array or an RLE dict (got shape {arr.shape}, "
                         f"dtype {arr.dtype})")
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        raise ValueError("a mask array must be binary (0/1 or bool); threshold soft masks first")
    return _plain(_mask_api().encode(np.asfortranarray(arr.astype(np.uint8))))


def _plain(rle: Any) -> dict[str, Any]:
    counts = rle["counts"]
    return {"size": [int(v) for v in rle["size"]],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else str(counts)}


def masks_to_rle(masks: Any, n_boxes: int) -> tuple[dict[str, Any], ...]:
    """Each detection's mask as a compressed RLE dict: one per box, or none at all (``()``).

    ``ValueError`` when the count is not the number of boxes or a mask is malformed."""
    if masks is None:
        return ()
    if isinstance(masks, np.ndarray) and masks.ndim == 3:
        masks = list(masks)  # N x H x W stacked masks
    if isinstance(masks, (str, bytes, Mapping)) or not isinstance(masks, (Sequence, np.ndarray)):
        raise ValueError(f"masks must be a list (one per box) (got {type(masks).__name__})")
    masks = list(masks)
    if masks and len(masks) != n_boxes:
        raise ValueError(f"one mask per box: {len(masks)} masks for {n_boxes} boxes")
    out = []
    for k, m in enumerate(masks):
        try:
            out.append(to_rle(m))
        except ValueError as exc:
            raise ValueError(f"mask {k}: {exc}") from None
    return tuple(out)
