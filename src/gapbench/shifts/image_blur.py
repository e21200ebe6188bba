"""ImageNet-C blur corruptions: defocus, glass, motion, zoom and Gaussian blur.

Constants and definitions from Hendrycks & Dietterich (ICLR 2019) as implemented in
``imagecorruptions`` 1.1.2. Functions take a float image on the 0..255 scale (H x W x C) and
return the corrupted float image on that scale (before truncation to uint8). The reference's
glass blur is a Python loop over every pixel (about 1 s for 224 x 224); here the same sequential
pixel moves are resolved as index chains with pointer jumping, so it runs in milliseconds.
"""

from __future__ import annotations

import numpy as np

from gapbench.shifts.image_common import clipped_zoom, cv2, disk_kernel, gaussian, motion_blur

DEFOCUS = ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))  # (disk radius, alias blur)
GLASS = ((0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2))  # (sigma, max delta, iterations)
MOTION = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))  # (radius, sigma)
ZOOM_MAX = ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03))  # arange(1, max, step)
GAUSSIAN_BLUR_SIGMA = (1.0, 2.0, 3.0, 4.0, 6.0)


def defocus_blur(x: np.ndarray, rng: np.random.Generator, radius: float, alias_blur: float) -> np.ndarray:
    """Out-of-focus lens: convolution with an anti-aliased disk (OpenCV's default reflect-101 border)."""
    kernel = disk_kernel(radius, alias_blur)
    y = cv2().filter2D(np.ascontiguousarray(x / 255.0), -1, kernel).reshape(x.shape)
    return np.clip(y, 0.0, 1.0) * 255.0


def gaussian_blur(x: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gaussian low-pass of std ``sigma`` pixels (scikit-image ``gaussian``: truncate 4, nearest)."""
    return np.clip(gaussian(x / 255.0, sigma), 0.0, 1.0) * 255.0


def _pass_sources(h: int, w: int, delta: int, rng: np.random.Generator) -> np.ndarray:
    """Flat source index of every pixel after one pass of the reference's local pixel moves.

    The reference walks rows ``h = H-delta .. delta+1`` and columns ``w = W-delta .. delta+1``
    (both descending) and does ``x[h, w] = x[h + dy, w + dx]`` with ``dx, dy`` uniform in
    ``[-delta, delta)`` (its tuple "swap" on colour pixels copies one way, since the right-hand
    side holds views). A source visited earlier in the walk already holds its new value, so each
    pixel's final source is found by following those links to a pixel not yet visited.
    """
    rows = np.arange(delta + 1, h - delta + 1)
    cols = np.arange(delta + 1, w - delta + 1)
    src = np.arange(h * w)
    if rows.size == 0 or cols.size == 0:
        return src
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    dxy = rng.integers(-delta, delta, size=(2,) + rr.shape)
    sr, sc = rr + dxy[1], cc + dxy[0]
    target = (rr * w + cc).ravel()
    source = (sr * w + sc).ravel()
    in_walk = ((sr >= rows[0]) & (sr <= rows[-1]) & (sc >= cols[0]) & (sc <= cols[-1])).ravel()
    # visited before the target (walk order is descending flat index) -> link, else a root
    link = np.full(h * w, -1, dtype=np.intp)
    linked = in_walk & (source > target)
    link[target[linked]] = source[linked]
    root_value = np.arange(h * w)
    root_value[target[~linked]] = source[~linked]
    # pointer jumping: every chain ends at a pixel whose value came from outside the chain
    head = np.where(link >= 0, link, np.arange(h * w))
    while True:
        nxt = head[head]
        if np.array_equal(nxt, head):
            break
        head = nxt
    src[target] = root_value[head[target]]
    return src


def glass_blur(
    x: np.ndarray, rng: np.random.Generator, sigma: float, delta: int, iterations: int
) -> np.ndarray:
    """Frosted glass: blur, move each pixel from a random neighbour within ``delta``, blur again.

    The first blur is truncated to uint8 as in the reference before the pixels move.
    """
    h, w = x.shape[:2]
    first = np.trunc(gaussian(x / 255.0, sigma) * 255.0)
    src = np.arange(h * w)
    for _ in range(int(iterations)):
        src = src[_pass_sources(h, w, int(delta), rng)]
    moved = first.reshape(h * w, -1)[src].reshape(x.shape)
    return np.clip(gaussian(moved / 255.0, sigma), 0.0, 1.0) * 255.0


def motion_blur_shift(
    x: np.ndarray, rng: np.random.Generator, radius: int, sigma: float, angle: float | None = None
) -> np.ndarray:
    """Camera shake: a one-sided Gaussian streak of ``radius`` pixels at a random angle in [-45, 45]."""
    if angle is None:
        angle = float(rng.uniform(-45.0, 45.0))
    return np.clip(motion_blur(x, radius, sigma, angle), 0.0, 255.0)


def zoom_blur(x: np.ndarray, rng: np.random.Generator, max_zoom: float, step: float) -> np.ndarray:
    """Moving towards the scene: the mean of the image and its centre zooms 1, 1+step, .. < max_zoom.

    Accumulated in float32 in the reference's order, so it matches it to the last bit almost
    everywhere.
    """
    factors = np.arange(1.0, max_zoom, step)
    img = (x / 255.0).astype(np.float32)
    out = np.zeros_like(img)
    for f in factors:
        layer = clipped_zoom(img, float(f)).astype(np.float32)
        out[: layer.shape[0], : layer.shape[1]] += layer
    y = (img + out) / np.float32(len(factors) + 1)
    return np.clip(y, 0.0, 1.0) * 255.0
