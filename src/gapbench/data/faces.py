"""``faces`` and ``faces-cls``: scikit-image's ``lfw_subset`` faces, offline.

``lfw_subset`` ships 200 grey 25 x 25 crops: 100 faces (Labeled Faces in the Wild) then 100
non-face patches. Two data sets are made of them:

* ``faces`` (detection): each scene is a face-free bundled photograph (:data:`BACKGROUNDS`; the
  astronaut and the cameraman are left out: their own faces are not annotated) with 1-3 faces
  upscaled (bicubic) to 40-140 px squares -- varied scale -- and pasted with a 3 px feathered
  edge at non-overlapping places. The ground truth is the pasted square,
  ``{"boxes": [[x, y, s, s], ...], "labels": [1, ...], "width", "height", "categories"}``.
  Faces are drawn from the first :data:`DETECTION_FACES` crops; built once and cached.
* ``faces-cls`` (classification): the 200 crops upscaled (bicubic) to 96 x 96 RGB uint8 (so the
  image shifts, several of which need 32 px or more, apply); label 1 = face, 0 = non-face.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from gapbench.core.sample import Sample
from gapbench.data.photos import cached_build, generator_versions, photo, version_key

BUILDER_VERSION = 1
BACKGROUNDS = ("coffee", "rocket", "china", "flower", "chelsea")
FACE_CATEGORIES = [{"id": 1, "name": "face"}]
N_FACES = 100  # lfw_subset: the first 100 crops are faces, the last 100 are not
DETECTION_FACES = 100
CLS_SIZE = 96
FEATHER = 3
MIN_FACE, MAX_FACE = 40, 140


@lru_cache(maxsize=1)
def lfw_crops() -> np.ndarray:
    """``(200, 25, 25)`` float crops in [0, 1]: faces first, then non-faces (read-only)."""
    from skimage import data

    arr = np.asarray(data.lfw_subset(), dtype=np.float64)
    arr.setflags(write=False)
    return arr


def upscale(crop: np.ndarray, size: int) -> np.ndarray:
    """A [0, 1] grey crop as a ``size x size`` uint8 grey image (Pillow bicubic)."""
    from PIL import Image

    img = Image.fromarray(np.clip(np.rint(crop * 255), 0, 255).astype(np.uint8))
    return np.asarray(img.resize((size, size), Image.Resampling.BICUBIC))


def _feather_mask(size: int) -> np.ndarray:
    ramp = np.minimum(np.arange(size) + 1, np.arange(size)[::-1] + 1) / (FEATHER + 1)
    ramp = np.clip(ramp, 0, 1)
    return np.minimum(ramp[:, None], ramp[None, :])


def make_face_scene(index: int, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Scene ``index``: the composite and its record (``boxes``, ``faces`` indices, ``photo``)."""
    rng = np.random.default_rng([seed, index, 0xFACE])
    name = BACKGROUNDS[index % len(BACKGROUNDS)]
    img = np.array(photo(name), dtype=np.float64)
    h, w = img.shape[:2]
    crops = lfw_crops()
    boxes: list[list[int]] = []
    faces: list[int] = []
    for _ in range(int(rng.integers(1, 4))):
        face = int(rng.integers(0, DETECTION_FACES))
        size = int(rng.integers(MIN_FACE, min(MAX_FACE, h - 8, w - 8) + 1))
        for _attempt in range(40):
            x, y = int(rng.integers(4, w - size - 4)), int(rng.integers(4, h - size - 4))
            if any(x < bx + bw + 8 and bx < x + size + 8 and y < by + bh + 8 and by < y + size + 8
                   for bx, by, bw, bh in boxes):
                continue
            patch = upscale(crops[face], size).astype(np.float64)[:, :, None]
            alpha = _feather_mask(size)[:, :, None]
            img[y: y + size, x: x + size] = img[y: y + size, x: x + size] * (1 - alpha) + patch * alpha
            boxes.append([x, y, size, size])
            faces.append(face)
            break
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), {"boxes": boxes, "faces": faces, "photo": name}


def faces(n: int = 20, seed: int = 0) -> list[Sample]:
    """The ``faces`` detection samples (built once, then read from the cache)."""
    import PIL
    import skimage

    key = version_key("faces", BUILDER_VERSION, {"n": n, "seed": seed},
                      [f"pillow-{PIL.__version__}", f"skimage-{skimage.__version__}"])
    images, records = cached_build("faces", key, n, lambda i: make_face_scene(i, seed))
    out = []
    for i, (img, rec) in enumerate(zip(images, records)):
        img.setflags(write=False)
        ref = {"boxes": [list(map(float, b)) for b in rec["boxes"]], "labels": [1] * len(rec["boxes"]),
               "width": int(img.shape[1]), "height": int(img.shape[0]), "categories": FACE_CATEGORIES}
        out.append(Sample(f"faces-{i}", img, ref, {"photo": rec["photo"], "faces": rec["faces"]}))
    return out


def faces_cls() -> list[Sample]:
    """The 200 ``lfw_subset`` crops as 96 x 96 RGB images; label 1 = face, 0 = non-face."""
    crops = lfw_crops()
    out = []
    for i, crop in enumerate(crops):
        grey = upscale(crop, CLS_SIZE)
        img = np.repeat(grey[:, :, None], 3, axis=2)
        img.setflags(write=False)
        label = int(i < N_FACES)
        out.append(Sample(f"lfw-{i}", img, label, {"lfw_index": i, "face": bool(label)}))
    return out


faces.generator = lambda: generator_versions(BUILDER_VERSION)  # type: ignore[attr-defined]
faces_cls.generator = lambda: generator_versions(BUILDER_VERSION)  # type: ignore[attr-defined]
