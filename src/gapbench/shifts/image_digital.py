"""ImageNet-C digital corruptions: brightness, contrast, elastic transform, pixelate, JPEG, saturate.

Constants and definitions from Hendrycks & Dietterich (ICLR 2019) as implemented in
``imagecorruptions`` 1.1.2. Functions take a float image on the 0..255 scale (H x W x C) and
return the corrupted image on that scale. Brightness and saturate change one HSV coordinate with
scikit-image's conversion formulas, vectorised without its per-hue boolean indexing.
"""

from __future__ import annotations

import io

import numpy as np

BRIGHTNESS = (0.1, 0.2, 0.3, 0.4, 0.5)
CONTRAST = (0.4, 0.3, 0.2, 0.1, 0.05)
SATURATE = ((0.3, 0.0), (0.1, 0.0), (2.0, 0.0), (5.0, 0.1), (20.0, 0.2))  # S -> S * scale + shift
JPEG_QUALITY = (25, 18, 15, 10, 7)
PIXELATE = (0.6, 0.5, 0.4, 0.3, 0.25)
ELASTIC_ALPHA = (250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12)


def rgb_to_hsv(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-image's ``rgb2hsv`` arithmetic, operation for operation (so truncation agrees)."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    v = img.max(axis=-1)
    delta = v - img.min(axis=-1)
    flat = delta == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(flat, 0.0, delta / v)
        h = np.where(b == v, 4.0 + (r - g) / delta, np.where(g == v, 2.0 + (b - r) / delta, (g - b) / delta))
    h = np.where(flat, 0.0, (h / 6.0) % 1.0)
    return np.nan_to_num(h), np.nan_to_num(s), v


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """scikit-image's ``hsv2rgb`` arithmetic."""
    hi = np.floor(h * 6)
    f = h * 6 - hi
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    sector = hi.astype(np.uint8) % 6
    return np.stack(
        [
            np.choose(sector, (v, q, p, p, t, v)),
            np.choose(sector, (t, v, v, q, p, p)),
            np.choose(sector, (p, p, t, v, v, q)),
        ],
        axis=-1,
    )


def brightness(x: np.ndarray, rng: np.random.Generator, delta: float) -> np.ndarray:
    """Add ``delta`` to the HSV value (hue and saturation kept): a brighter exposure.

    For one channel (grey) this is the reference's ``clip(x + delta)``, which HSV reduces to.
    """
    img = x / 255.0
    if img.shape[2] != 3:
        return np.clip(np.clip(img + delta, 0.0, 1.0), 0.0, 1.0) * 255.0
    h, s, v = rgb_to_hsv(img)
    y = hsv_to_rgb(h, s, np.clip(v + delta, 0.0, 1.0))
    return np.clip(y, 0.0, 1.0) * 255.0


def contrast(x: np.ndarray, rng: np.random.Generator, factor: float) -> np.ndarray:
    """Scale each channel's deviation from its mean by ``factor`` (< 1: washed out)."""
    img = x / 255.0
    means = img.mean(axis=(0, 1), keepdims=True)
    return np.clip((img - means) * factor + means, 0.0, 1.0) * 255.0


def saturate(x: np.ndarray, rng: np.random.Generator, scale: float, shift: float) -> np.ndarray:
    """Map HSV saturation ``S -> clip(S * scale + shift)``: washed-out or oversaturated colour.

    Grey pixels (S = 0) have hue 0 in scikit-image, so a positive ``shift`` tints them red, as in
    the reference.
    """
    h, s, v = rgb_to_hsv(x / 255.0)
    y = hsv_to_rgb(h, np.clip(s * scale + shift, 0.0, 1.0), v)
    return np.clip(y, 0.0, 1.0) * 255.0


def _pil(x: np.ndarray):  # noqa: ANN202 - PIL.Image, imported lazily
    from PIL import Image

    arr = x if x.dtype == np.uint8 else np.clip(np.round(x), 0, 255).astype(np.uint8)
    return Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)


def _back(img, shape: tuple[int, ...]) -> np.ndarray:  # noqa: ANN001
    return np.asarray(img).reshape(shape)


def jpeg_compression(x: np.ndarray, rng: np.random.Generator, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (Pillow's libjpeg, the reference's encoder)."""
    buf = io.BytesIO()
    _pil(x).save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    from PIL import Image

    return _back(Image.open(buf), x.shape)


def pixelate(x: np.ndarray, rng: np.random.Generator, factor: float) -> np.ndarray:
    """Downsample by ``factor`` with a box filter, upsample back with nearest neighbour."""
    from PIL import Image

    h, w = x.shape[:2]
    small = _pil(x).resize((max(1, int(w * factor)), max(1, int(h * factor))), Image.BOX)
    return _back(small.resize((w, h), Image.NEAREST), x.shape)


def elastic_fields(
    shape: tuple[int, int], rng: np.random.Generator, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Displacement fields (dy, dx), pixels: uniform noise smoothed (sigma 1% of the size) x alpha."""
    from scipy.ndimage import gaussian_filter

    h, w = shape
    sigma = (h * 0.01, w * 0.01)
    amp = h * 0.005
    dx = gaussian_filter(rng.uniform(-amp, amp, size=shape), sigma, mode="reflect", truncate=3)
    dy = gaussian_filter(rng.uniform(-amp, amp, size=shape), sigma, mode="reflect", truncate=3)
    return (dy * alpha).astype(np.float32), (dx * alpha).astype(np.float32)


def _reflect(i: np.ndarray, n: int) -> np.ndarray:
    """scipy's 'reflect' (half-sample symmetric) index extension."""
    period = 2 * n
    i = np.mod(i, period)
    return np.where(i >= n, period - 1 - i, i)


def remap_linear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear sampling at (ys, xs), scipy's 'reflect' border (``map_coordinates`` order 1)."""
    h, w = img.shape[:2]
    y0, x0 = np.floor(ys), np.floor(xs)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    y0, x0 = y0.astype(np.intp), x0.astype(np.intp)
    ya, yb = _reflect(y0, h), _reflect(y0 + 1, h)
    xa, xb = _reflect(x0, w), _reflect(x0 + 1, w)
    top = img[ya, xa] * (1 - fx) + img[ya, xb] * fx
    bottom = img[yb, xa] * (1 - fx) + img[yb, xb] * fx
    return top * (1 - fy) + bottom * fy


def remap_nearest(arr: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Nearest-neighbour sampling with the same border (for label masks)."""
    h, w = arr.shape[:2]
    return arr[
        _reflect(np.floor(ys + 0.5).astype(np.intp), h), _reflect(np.floor(xs + 0.5).astype(np.intp), w)
    ]


def elastic_transform(x: np.ndarray, rng: np.random.Generator, alpha: float) -> tuple[np.ndarray, tuple]:
    """Local rubber-sheet warp: each output pixel samples the input at (y + dy, x + dx).

    Returns the image and the fields ``(dy, dx)`` so the caller can move boxes and masks too.
    """
    h, w = x.shape[:2]
    dy, dx = elastic_fields((h, w), rng, alpha)
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    img = (x / 255.0).astype(np.float32)
    out = remap_linear(img, gy + dy, gx + dx)
    return np.clip(out, 0.0, 1.0) * 255.0, (dy, dx)
