"""ImageNet-C weather corruptions: snow, frost, fog, and the validation corruption spatter.

Constants and definitions from Hendrycks & Dietterich (ICLR 2019) as implemented in
``imagecorruptions`` 1.1.2. Functions take a float image on the 0..255 scale (H x W x C; frost
and spatter need C = 3) and return the corrupted float image on that scale. Frost blends one of
the five frost photographs the reference ships (vendored under ``shifts/data``, Apache-2.0).
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

import numpy as np

from gapbench.shifts.image_common import (
    clipped_zoom,
    cv2,
    gaussian,
    motion_blur,
    next_power_of_2,
    plasma_fractal,
)

# (mean, std, zoom, threshold, blur radius, blur sigma, image weight)
SNOW = (
    (0.1, 0.3, 3.0, 0.5, 10, 4, 0.8),
    (0.2, 0.3, 2.0, 0.5, 12, 4, 0.7),
    (0.55, 0.3, 4.0, 0.9, 12, 8, 0.7),
    (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
    (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
)
FROST = ((1.0, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))  # (image weight, frost weight)
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")
FOG = ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))  # (strength, plasma decay)
# (mean, std, blur sigma, threshold, intensity / mud blur, mud?)
SPATTER = (
    (0.65, 0.3, 4, 0.69, 0.6, 0),
    (0.65, 0.3, 3, 0.68, 0.6, 0),
    (0.65, 0.3, 2, 0.68, 0.5, 0),
    (0.65, 0.3, 1, 0.65, 1.5, 1),
    (0.67, 0.4, 1, 0.65, 1.5, 1),
)


def snow(
    x: np.ndarray,
    rng: np.random.Generator,
    mean: float,
    std: float,
    zoom: float,
    threshold: float,
    blur_radius: int,
    blur_sigma: float,
    image_weight: float,
) -> np.ndarray:
    """Falling snow: zoomed noise flakes streaked by motion blur, over a whitened, greyed image."""
    img = (x / 255.0).astype(np.float32)
    h, w = img.shape[:2]
    flakes = rng.normal(mean, std, size=(h, w))
    flakes = clipped_zoom(flakes, zoom, keep_all=True)
    flakes[flakes < threshold] = 0
    flakes = np.clip(flakes, 0, 1)
    flakes = motion_blur(flakes, blur_radius, blur_sigma, float(rng.uniform(-135.0, -45.0)))
    flakes = (np.round(flakes * 255).astype(np.uint8) / 255.0)[:h, :w, None]
    if img.shape[2] == 3:
        grey = cv2().cvtColor(np.ascontiguousarray(img), cv2().COLOR_RGB2GRAY)[..., None]
    else:
        grey = img
    img = image_weight * img + (1 - image_weight) * np.maximum(img, grey * 1.5 + 0.5)
    return np.clip(img + flakes + np.rot90(flakes, k=2), 0, 1) * 255.0


@lru_cache(maxsize=len(FROST_FILES))
def _frost_picture(index: int) -> np.ndarray:
    """One frost photograph as OpenCV decodes it (BGR uint8), read once per process."""
    ref = resources.files("gapbench.shifts").joinpath("data", FROST_FILES[index])
    buf = np.frombuffer(ref.read_bytes(), dtype=np.uint8)
    return cv2().imdecode(buf, cv2().IMREAD_COLOR)


@lru_cache(maxsize=64)
def _frost_scaled(index: int, h: int, w: int) -> np.ndarray:
    """The frost photograph scaled (bicubic) to cover an h x w image with 10% to spare."""
    pic = _frost_picture(index)
    fh, fw = pic.shape[:2]
    scale = max(1.0, h / fh, w / fw) * 1.1
    size = (int(math.ceil(fw * scale)), int(math.ceil(fh * scale)))
    out = cv2().resize(pic, dsize=size, interpolation=cv2().INTER_CUBIC)
    out.setflags(write=False)
    return out


def frost(
    x: np.ndarray,
    rng: np.random.Generator,
    image_weight: float,
    frost_weight: float,
    picture: int | None = None,
) -> np.ndarray:
    """Ice crystals on the lens: a random crop of a frost photograph blended over the image."""
    h, w = x.shape[:2]
    index = int(rng.integers(len(FROST_FILES))) if picture is None else int(picture)
    pic = _frost_scaled(index, h, w)
    top = int(rng.integers(0, pic.shape[0] - h))
    left = int(rng.integers(0, pic.shape[1] - w))
    layer = pic[top : top + h, left : left + w][..., ::-1]
    return np.clip(image_weight * x + frost_weight * layer, 0, 255)


def fog(x: np.ndarray, rng: np.random.Generator, strength: float, decay: float) -> np.ndarray:
    """Fog: a diamond-square cloud layer added, the result rescaled to the image's peak."""
    h, w = x.shape[:2]
    size = next_power_of_2(max(x.shape))
    img = x / 255.0
    peak = img.max()
    cloud = plasma_fractal(size, decay, rng)[:h, :w, None]
    return np.clip((img + strength * cloud) * peak / (peak + strength), 0, 1) * 255.0


def spatter(
    x: np.ndarray,
    rng: np.random.Generator,
    mean: float,
    std: float,
    sigma: float,
    threshold: float,
    intensity: float,
    mud: int,
) -> np.ndarray:
    """Water drops (pale turquoise, with edge shading) or mud splashes (brown) on the lens."""
    cv = cv2()
    img = (x / 255.0).astype(np.float32)
    liquid = gaussian(rng.normal(mean, std, size=img.shape[:2]), sigma)
    liquid[liquid < threshold] = 0
    if not mud:
        liq8 = np.clip(liquid * 255, 0, 255).astype(np.uint8)
        dist = 255 - cv.Canny(liq8, 50, 150)
        dist = cv.distanceTransform(dist, cv.DIST_L2, 5)
        _, dist = cv.threshold(dist, 20, 20, cv.THRESH_TRUNC)
        dist = cv.blur(dist, (3, 3)).astype(np.uint8)
        dist = cv.equalizeHist(dist)
        ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
        dist = cv.filter2D(dist, cv.CV_8U, ker)
        dist = cv.blur(dist, (3, 3)).astype(np.float32)
        m = liq8 * dist
        top = m.max()
        m = m / top * intensity if top > 0 else m
        colour = np.array([175, 238, 238], dtype=np.float32) / 255
        return np.clip(img + m[..., None] * colour, 0, 1) * 255.0
    m = gaussian((liquid > threshold).astype(np.float32), intensity)
    m[m < 0.8] = 0
    colour = np.array([63, 42, 20], dtype=np.float64) / 255
    return np.clip(img * (1 - m[..., None]) + colour * m[..., None], 0, 1) * 255.0
