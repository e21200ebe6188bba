"""Instance masks from ``hf:`` instance / universal segmentation models (Mask2Former, MaskFormer).

Such a model serves the ``object-detection`` task type with :class:`~gapbench.core.predictions.Detections`
that carry masks (the ``coco`` task then scores ``segm_*`` beside the box stats). The decoding is
the model's own image processor's ``post_process_instance_segmentation(outputs, threshold=...,
target_sizes=[(h, w)], return_binary_maps=True)`` (transformers 5,
``models/mask2former/image_processing_mask2former.py`` and ``models/maskformer/...``): per query,
class scores are the softmax over the classes without "no object", the top ``num_queries``
(query, class) pairs are kept, a mask is ``mask logits > 0`` (Mask2Former resizes the logits to its
fixed 384 x 384 grid first, MaskFormer keeps them as they are), resized to the image with
nearest-neighbour, and the score is the class probability times the mean sigmoid inside the mask;
an instance is kept when its score is ``>= threshold`` and its mask is not empty. We call that
function rather than re-implement it, so a model is decoded exactly as its transformers code does;
``return_binary_maps`` keeps overlapping instances whole (the default single-channel map lets a
later instance overwrite an earlier one). The geometry is right because the adapter runs one image
at a time: the processor then stretches the image to a multiple of its ``size_divisor`` without
padding (``pixel_mask`` all ones), so resizing the mask to the image size undoes it exactly. The
masks are coarser than the original Mask2Former inference (which upsamples the logits bilinearly
to the image before thresholding), so COCO numbers can differ slightly from published ones.
For COCO mAP as the papers report it, keep every query (``threshold=0``): the processor already
keeps the top ``num_queries`` (query, class) pairs, as Mask2Former's own instance inference does.

What the adapter adds:

* Each instance's box is the tight ``[x, y, w, h]`` box of its mask in pixels (``w`` = last column
  - first column + 1), which is COCO's own convention for a segment's bbox (pycocotools
  ``maskApi`` ``rleToBbox``); these models predict no separate box.
* Labels are the model's class ids (its ``id2label``), or what the ``labels=`` option maps them to
  (a position, or a category id: :mod:`gapbench.models.label_ids`; instances of other classes
  dropped), as for the box detectors.
* An instance whose mask is empty at the image size is dropped (the processor already drops
  those; the check stays so a model whose processor does not can never give a mask with no pixels,
  which has no box and an IoU of 0 with everything).
* The post-processing runs on the CPU in float32: the processor builds its segmentation map on
  the CPU, and indexing it with a mask on another device fails.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from gapbench.core.instance_masks import masks_to_rle

# model_type -> what the adapter supports (post_process_instance_segmentation with return_binary_maps)
INSTANCE_MODEL_TYPES = ("mask2former", "maskformer")


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """The tight ``(x, y, w, h)`` pixel box of a non-empty binary mask (pycocotools' ``toBbox``)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    return float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)


def decode_instances(processor: Any, outputs: Any, size: tuple[int, int], threshold: float,
                     label_of: dict[int, int] | None) -> dict[str, Any]:
    """One image's model ``outputs`` as ``{"boxes", "scores", "labels", "masks"}`` (masks as COCO RLE).

    ``size`` is the image's ``(height, width)``; ``label_of`` maps a kept model class id to its output
    label (``labels=``: a position or a category id; other classes dropped), None keeps the model's ids."""
    lean = SimpleNamespace(class_queries_logits=outputs.class_queries_logits.detach().float().cpu(),
                           masks_queries_logits=outputs.masks_queries_logits.detach().float().cpu())
    res = processor.post_process_instance_segmentation(lean, threshold=threshold, target_sizes=[size],
                                                       return_binary_maps=True)[0]
    info = res["segments_info"]
    boxes, scores, labels, masks = [], [], [], []
    if info:  # with no instance the processor returns its empty (-1) map instead of a stack
        maps = res["segmentation"].reshape(len(info), *size).numpy() > 0.5
        for seg, mask in zip(info, maps):
            label = int(seg["label_id"])
            if label_of is not None:
                if label not in label_of:
                    continue
                label = label_of[label]
            if not mask.any():
                continue
            boxes.append(mask_box(mask))
            scores.append(float(seg["score"]))
            labels.append(label)
            masks.append(mask)
    return {"boxes": boxes, "scores": scores, "labels": labels, "masks": list(masks_to_rle(masks, len(boxes)))}
