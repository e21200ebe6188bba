"""The seed's "dirty data" image families: what production photos look like beyond ImageNet-C.

* ``low_light``: a dark phone photo. Linear light (gamma 2.2) scaled by an exposure ``gain``,
  Poisson shot noise at ``photons`` per full-scale pixel and Gaussian read noise, then the
  camera's auto-exposure brings the mean back up (amplifying the noise) and re-encodes gamma
  (Foi et al. 2008, "Practical Poissonian-Gaussian noise modeling"; Brooks et al., CVPR 2019,
  "Unprocessing images for learned raw denoising").
* ``overexposure``: ``stops`` of extra exposure in linear light; highlights clip to white.
* ``out_of_focus``: a lens disk (circle of confusion) of ``diameter`` pixels.
* ``poor_framing``: off-centre crop, tilt and zoom (geometric: boxes and masks move with it).
* ``jpeg_chain``: ``rounds`` JPEG re-encodes around ``quality`` (messaging apps, re-uploads).
* ``occlusion``: ``patches`` flat-colour rectangles covering ``coverage`` of the frame in total.

Each family takes the same inputs and layouts as the ImageNet-C families (see ``image.py``) and
its 1-5 ladder is stated below as parameters; its PSNR falls strictly over the ladder (tested).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gapbench.shifts.base import SEVERITIES, Param, ShiftFamily
from gapbench.shifts.image_common import as_image, cv2, finish_image
from gapbench.shifts.image_geometry import move_reference

GAMMA = 2.2


def _to_linear(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 255) / 255.0) ** GAMMA


def _to_display(lin: np.ndarray) -> np.ndarray:
    return np.clip(lin, 0.0, 1.0) ** (1.0 / GAMMA) * 255.0


def low_light(
    x: np.ndarray, rng: np.random.Generator, gain: float, photons: float, read_noise: float, recover: float
) -> np.ndarray:
    """Dark scene: ``gain`` x linear light, shot + read noise, ``recover`` x auto-exposure gain."""
    lin = _to_linear(x) * gain
    noisy = rng.poisson(lin * photons) / photons + rng.normal(0.0, read_noise, size=lin.shape)
    return _to_display(noisy * (recover / gain))


def overexposure(x: np.ndarray, rng: np.random.Generator, stops: float) -> np.ndarray:
    """``stops`` of extra exposure (x 2^stops in linear light), clipped at the sensor's white."""
    return _to_display(_to_linear(x) * 2.0**stops)


def _disk(diameter: float) -> np.ndarray:
    """A normalised disk of ``diameter`` pixels, anti-aliased by 4 x 4 supersampling."""
    r = diameter / 2.0
    n = int(math.ceil(r - 0.5))
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    grid = np.arange(-n, n + 1)[:, None] + sub[None, :]
    d2 = grid.reshape(-1, 1) ** 2 + grid.reshape(1, -1) ** 2
    k = (d2 <= r * r).astype(np.float64).reshape(2 * n + 1, 4, 2 * n + 1, 4).mean(axis=(1, 3))
    return k / k.sum()


def out_of_focus(x: np.ndarray, rng: np.random.Generator, diameter: float) -> np.ndarray:
    """Defocus as a lens sees it: convolution with a disk (reflected border)."""
    y = cv2().filter2D(
        np.ascontiguousarray(x, dtype=np.float64), -1, _disk(diameter), borderType=cv2().BORDER_REFLECT
    )
    return y.reshape(x.shape)


def _jpeg_once(x: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    arr = np.clip(np.round(x), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf), dtype=np.float64).reshape(x.shape)


def jpeg_chain(x: np.ndarray, rng: np.random.Generator, quality: int, rounds: int) -> np.ndarray:
    """``rounds`` re-encodes, each at a quality drawn in ``quality`` +- 5 and a 1-pixel crop shift
    (re-uploads recrop, so the 8x8 blocks move and every round adds new loss)."""
    y = np.asarray(x, dtype=np.float64)
    for _ in range(int(rounds)):
        q = int(np.clip(quality + rng.integers(-5, 6), 1, 95))
        dy, dx = (int(v) for v in rng.integers(0, 2, size=2))
        shifted = np.pad(y, ((dy, 0), (dx, 0), (0, 0)), mode="edge")
        y = _jpeg_once(shifted, q)[dy : dy + x.shape[0], dx : dx + x.shape[1]]
    return y


def occlusion(x: np.ndarray, rng: np.random.Generator, patches: int, coverage: float) -> np.ndarray:
    """``patches`` random flat-colour rectangles, each ``coverage / patches`` of the frame, on a
    grid of distinct cells so they do not overlap (objects in front of the subject, stickers)."""
    h, w, c = x.shape
    y = x.astype(np.float64)
    n = int(patches)
    cells = int(math.ceil(math.sqrt(n)))
    area = coverage / n * h * w
    ch, cw = h / cells, w / cells
    aspect = rng.uniform(0.5, 2.0, size=n)
    ph = np.minimum(np.sqrt(area * aspect), ch).astype(int)
    pw = np.minimum(np.round(area / np.maximum(ph, 1)), cw).astype(int)
    for k, cell in enumerate(rng.permutation(cells * cells)[:n]):
        r0, c0 = int(cell // cells * ch), int(cell % cells * cw)
        top = r0 + int(rng.integers(0, max(1, int(ch) - ph[k] + 1)))
        left = c0 + int(rng.integers(0, max(1, int(cw) - pw[k] + 1)))
        y[top : top + ph[k], left : left + pw[k]] = rng.uniform(0, 255, size=c)
    return y


def _framing_matrix(
    h: int, w: int, rng: np.random.Generator, shift: float, angle: float, scale: float
) -> np.ndarray:
    """2x3 affine from output to input pixel coordinates (x, y)."""
    direction = rng.uniform(0, 2 * math.pi)
    tx, ty = shift * w * math.cos(direction), shift * h * math.sin(direction)
    theta = math.radians(angle * (1 if rng.random() < 0.5 else -1))
    cos, sin = math.cos(theta) / scale, math.sin(theta) / scale
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a = np.array([[cos, -sin], [sin, cos]])
    b = np.array([cx + tx, cy + ty]) - a @ np.array([cx, cy])
    return np.hstack([a, b[:, None]])


def poor_framing(
    x: np.ndarray, rng: np.random.Generator, shift: float, angle: float, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Off-centre by ``shift`` of the size (random direction), tilted by +-``angle`` degrees,
    zoomed in by ``scale``; the frame outside the original image is black. Returns the 2x3
    output -> input affine too."""
    h, w = x.shape[:2]
    m = _framing_matrix(h, w, rng, shift, angle, scale)
    cv = cv2()
    out = cv.warpAffine(
        np.ascontiguousarray(x, dtype=np.float64),
        m,
        (w, h),
        flags=cv.INTER_LINEAR | cv.WARP_INVERSE_MAP,
        borderMode=cv.BORDER_CONSTANT,
        borderValue=0,
    )
    return out.reshape(x.shape), m


def _framing_reference(reference: Any, m: np.ndarray, shape: tuple[int, int], name: str) -> Any:
    h, w = shape
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]

    def forward(pts: np.ndarray) -> np.ndarray:
        # boxes live on pixel edges; the affine acts on pixel centres (offset 0.5)
        c = pts - 0.5
        return c @ inv[:, :2].T + inv[:, 2] + 0.5

    def sample(mask: np.ndarray) -> np.ndarray:
        ys, xs = np.mgrid[0:h, 0:w]
        sx = m[0, 0] * xs + m[0, 1] * ys + m[0, 2]
        sy = m[1, 0] * xs + m[1, 1] * ys + m[1, 2]
        ix, iy = np.floor(sx + 0.5).astype(np.intp), np.floor(sy + 0.5).astype(np.intp)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out = np.zeros_like(mask)  # outside the original frame: label 0 (background)
        out[inside] = mask[iy[inside], ix[inside]]
        return out

    return move_reference(reference, forward, sample, shape, name)


_DIRTY: dict[str, tuple[Callable[..., Any], tuple[Param, ...], tuple[tuple[Any, ...], ...], str, bool]] = {
    "low_light": (
        low_light,
        (
            Param("gain", "exposure relative to a good one (linear light)", float, 1e-4, 1),
            Param("photons", "photons a full-scale pixel collects at good exposure x gain", float, 1, 1e7),
            Param("read_noise", "sensor read noise std (fraction of full scale)", float, 0, 1),
            Param("recover", "mean brightness the auto-exposure restores (fraction of good)", float, 0, 1),
        ),
        (
            (0.25, 800, 0.002, 0.9),
            (0.12, 400, 0.004, 0.8),
            (0.06, 200, 0.006, 0.7),
            (0.03, 100, 0.008, 0.6),
            (0.015, 50, 0.012, 0.5),
        ),
        "dark phone photo: gamma, shot and read noise",
        False,
    ),
    "overexposure": (
        overexposure,
        (Param("stops", "extra exposure in stops (x 2^stops)", float, 0, 10),),
        ((0.5,), (1.0,), (1.5,), (2.0,), (2.5,)),
        "highlights burnt out",
        False,
    ),
    "out_of_focus": (
        out_of_focus,
        (Param("diameter", "lens disk diameter, pixels", float, 1, 200),),
        ((3.0,), (5.0,), (9.0,), (13.0,), (19.0,)),
        "lens defocus disk",
        False,
    ),
    "poor_framing": (
        poor_framing,
        (
            Param("shift", "off-centre offset, fraction of the image size", float, 0, 0.5),
            Param("angle", "tilt, degrees (random sign)", float, 0, 45),
            Param("scale", "zoom-in factor", float, 0.25, 4),
        ),
        ((0.04, 2.0, 1.05), (0.08, 4.0, 1.1), (0.12, 7.0, 1.15), (0.16, 10.0, 1.2), (0.2, 14.0, 1.3)),
        "off-centre crop, tilt and zoom (moves boxes and masks)",
        True,
    ),
    "jpeg_chain": (
        jpeg_chain,
        (
            Param("quality", "JPEG quality per round (+-5)", int, 6, 95),
            Param("rounds", "re-encodes", int, 1, 50),
        ),
        ((70, 2), (55, 3), (40, 5), (30, 7), (20, 10)),
        "repeated JPEG recompression",
        False,
    ),
    "occlusion": (
        occlusion,
        (
            Param("patches", "number of rectangles", int, 1, 64),
            Param("coverage", "fraction of the frame covered in total", float, 0, 0.9),
        ),
        ((1, 0.04), (2, 0.08), (3, 0.14), (4, 0.22), (6, 0.32)),
        "flat-colour patches",
        False,
    ),
}


def _make_fn(
    name: str, core: Callable[..., Any], params: tuple[Param, ...], default: tuple[Any, ...], geometric: bool
) -> Callable[[Any, Any, Mapping[str, Any], np.random.Generator], tuple[Any, Any]]:
    def fn(input: Any, reference: Any, given: Mapping[str, Any], rng: np.random.Generator) -> tuple[Any, Any]:  # noqa: A002
        img, white, is_u8 = as_image(input, name)
        full = {p.name: v for p, v in zip(params, default)}
        full.update(given)
        out = core(img, rng, **full)
        if geometric:
            out, m = out
            reference = _framing_reference(reference, m, img.shape[:2], name)
        return finish_image(out, np.asarray(input), white, is_u8), reference

    fn.__name__ = name
    fn.__doc__ = core.__doc__
    return fn


def _families() -> dict[str, ShiftFamily]:
    out = {}
    for name, (core, params, ladder, doc, geometric) in _DIRTY.items():
        out[name] = ShiftFamily(
            name=name,
            modality="image",
            description=f"dirty data: {doc}",
            fn=_make_fn(name, core, params, ladder[2], geometric),
            params=params,
            ladder={s: {p.name: v for p, v in zip(params, vals)} for s, vals in zip(SEVERITIES, ladder)},
            geometric=geometric,
            min_size=None,
        )
    return out


DIRTY_FAMILIES: dict[str, ShiftFamily] = _families()
