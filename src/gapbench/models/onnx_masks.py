"""Letterboxing and YOLO-segmentation instance masks for the ``onnx:`` adapter.

Ultralytics' YOLOv8-seg / YOLO11-seg (and YOLOv5-seg) ONNX exports give, per candidate, M mask
coefficients beside the box and class scores, and one ``(1, M, mh, mw)`` tensor of prototype
masks at 1/4 of the input resolution. A detection's mask is the linear combination of the
prototypes, cropped to its box, brought back to the image and thresholded. The definition followed
is Ultralytics' ``ultralytics/utils/ops.py`` (AGPL-3.0; read, not copied):

* ``process_mask`` (the default path of ``predict`` and ``val``, ``retina_masks=False``):
  ``logits = coeffs @ protos.view(M, -1)``; ``crop_mask`` zeroes the logits outside the box scaled
  to prototype pixels (column ``c`` kept iff ``x1 * mw/iw <= c < x2 * mw/iw``, rows alike, on the
  box in network-input pixels after NMS); ``F.interpolate(..., mode="bilinear",
  align_corners=False)`` to the input size; ``gt_(0.0)``.
* ``scale_masks``: the letterbox padding is sliced off and the rest resized bilinearly
  (``align_corners=False``) to the original image size.

Choices, and why:

* ``process_mask`` rather than ``process_mask_native`` (``retina_masks=True``: prototypes resized
  to the image first, then cropped with the image-space box): it is the variant Ultralytics uses
  by default for prediction and for its COCO validation, so gapbench's ``segm_*`` match what the
  model's published mask mAP measures.
* One threshold, at the end: the soft logits go through both resizes and a pixel is in the mask
  iff its logit > 0, i.e. ``sigmoid(logit) > 0.5``. Ultralytics' validator binarises at the input
  size and resizes the 0/1 mask again (``scale_image``, OpenCV), a second rounding that moves
  boundary pixels by up to one input pixel; ``scale_masks`` (used for retina masks) keeps the
  values soft as here. Thresholding the logit (not ``interp(sigmoid)``) is ``ops.py``'s order;
  YOLOv5-seg's own ``process_mask`` applies the sigmoid before cropping and upsampling, which
  differs only at boundary pixels.
* The padding removed is the letterbox actually applied (:func:`letterbox_geometry`, Ultralytics'
  ``LetterBox`` with ``auto=False, center=True``): ``scale_masks`` recomputes it from the gain with
  ``int()``, which can drop the last row or column of the image when the resized size was rounded.

Bilinear resizing is PyTorch's ``align_corners=False`` rule without antialiasing (source
coordinate ``(i + 0.5) * in/out - 0.5``, clamped at 0; neighbours clamped at the edge), written as
a matrix per axis; the three linear steps (upsample, slice, resize) are composed before the one
threshold, which is exact because nothing nonlinear lies between them. Only the output pixels that
the box's prototype pixels reach are computed (the rest are 0 logits, not in the mask): identical
masks, ~10x less work (``benchmarks/onnx_seg_masks.py`` compares with the torch steps).

``crop_mask`` is the comparison form above (fractional box edges in prototype pixels); recent
Ultralytics releases round the box to whole prototype pixels on the CPU path for fewer than 50
masks, which can move a crop edge by one prototype pixel (4 input pixels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD_VALUE = 114  # Ultralytics' letterbox fill (grey)


@dataclass(frozen=True)
class Letterbox:
    """Where the resized image sits in the network input: ``gain`` (input px per image px), the
    top-left corner ``(top, left)`` and the resized size ``(height, width)``."""

    gain: float
    top: int
    left: int
    height: int
    width: int


def letterbox_geometry(orig: tuple[int, int], size: tuple[int, int]) -> Letterbox:
    """Ultralytics ``LetterBox(auto=False, scaleup=True, center=True)`` for an ``orig`` ``(H, W)``
    image and a ``size`` ``(H, W)`` input: scale by ``min`` of the two ratios, centre, pad."""
    (h0, w0), (ih, iw) = orig, size
    r = min(ih / h0, iw / w0)
    nw, nh = int(round(w0 * r)), int(round(h0 * r))
    top = int(round((ih - nh) / 2 - 0.1))
    left = int(round((iw - nw) / 2 - 0.1))
    return Letterbox(r, top, left, nh, nw)


def letterbox_image(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` (H x W x 3 uint8) resized with the aspect ratio kept (PIL bilinear, as the adapter's
    plain resize) and padded with ``PAD_VALUE`` to ``size``."""
    from PIL import Image

    g = letterbox_geometry((rgb.shape[0], rgb.shape[1]), size)
    if (g.height, g.width) != rgb.shape[:2]:
        rgb = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((g.width, g.height), Image.BILINEAR))
    out = np.full((size[0], size[1], 3), PAD_VALUE, np.uint8)
    out[g.top:g.top + g.height, g.left:g.left + g.width] = rgb
    return out


def unletterbox_boxes(xyxy: np.ndarray, g: Letterbox, orig: tuple[int, int]) -> np.ndarray:
    """Input-pixel ``x0, y0, x1, y1`` boxes -> original-image pixels: Ultralytics' ``scale_boxes``
    with ``ratio_pad=(gain, (left, top))`` (as its validator passes), clipped to the image."""
    out = np.array(xyxy, np.float64, copy=True).reshape(-1, 4)
    out[:, [0, 2]] = np.clip((out[:, [0, 2]] - g.left) / g.gain, 0, orig[1])
    out[:, [1, 3]] = np.clip((out[:, [1, 3]] - g.top) / g.gain, 0, orig[0])
    return out


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights of 1-D bilinear resizing, PyTorch ``align_corners=False``."""
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1.0 - lam)
    np.add.at(m, (rows, i1), lam)
    return m


def instance_masks(coeffs: np.ndarray, protos: np.ndarray, boxes: np.ndarray, input_size: tuple[int, int],
                   orig: tuple[int, int], letterbox: Letterbox | None) -> list[np.ndarray]:
    """One boolean ``orig``-sized mask per detection (see the module docstring for the definition).

    ``coeffs`` ``(n, M)``; ``protos`` ``(M, mh, mw)``; ``boxes`` ``(n, 4)`` ``x0, y0, x1, y1`` in
    input pixels (before any scaling back); ``letterbox`` the padding to remove, or ``None`` when the
    input was a plain (per-axis) resize of the image."""
    m, mh, mw = protos.shape
    (ih, iw), (h0, w0) = input_size, orig
    flat = np.asarray(protos, np.float64).reshape(m, -1)
    ay, ax = bilinear_matrix(mh, ih), bilinear_matrix(mw, iw)  # prototypes -> input pixels
    if letterbox is not None:  # keep the rows / columns of the image, not the padding
        ay = ay[letterbox.top:letterbox.top + letterbox.height]
        ax = ax[letterbox.left:letterbox.left + letterbox.width]
    ay = bilinear_matrix(ay.shape[0], h0) @ ay  # -> original pixels
    ax = bilinear_matrix(ax.shape[0], w0) @ ax
    cols, rows = np.arange(mw), np.arange(mh)
    out = []
    for c, (x0, y0, x1, y1) in zip(np.asarray(coeffs, np.float64), np.asarray(boxes, np.float64)):
        mask = np.zeros((h0, w0), bool)
        kr = np.flatnonzero((rows >= y0 * mh / ih) & (rows < y1 * mh / ih))  # crop_mask: the box's prototype
        kc = np.flatnonzero((cols >= x0 * mw / iw) & (cols < x1 * mw / iw))  # rows and columns; the rest is 0
        if kr.size and kc.size:
            r0, r1, c0, c1 = kr[0], kr[-1] + 1, kc[0], kc[-1] + 1
            logits = (c @ flat.reshape(m, mh, mw)[:, r0:r1, c0:c1].reshape(m, -1)).reshape(r1 - r0, c1 - c0)
            wy, wx = ay[:, r0:r1], ax[:, c0:c1]  # only output pixels these prototype pixels reach can be > 0
            oy, ox = np.flatnonzero(wy.any(1)), np.flatnonzero(wx.any(1))
            if oy.size and ox.size:
                sy, sx = slice(oy[0], oy[-1] + 1), slice(ox[0], ox[-1] + 1)
                mask[sy, sx] = (wy[sy] @ logits @ wx[sx].T) > 0
        out.append(mask)
    return out
