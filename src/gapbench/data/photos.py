"""What the embedded vision data sets are made of: bundled photographs, fonts, and a build cache.

* Photographs ship inside scikit-image (``skimage.data``: astronaut, chelsea, coffee, rocket,
  camera, immunohistochemistry) and scikit-learn (``load_sample_images``: china, flower), so
  nothing is downloaded. Each is returned as an ``(H, W, 3)`` uint8 RGB array.
* Fonts: the DejaVu (Debian ``fonts-dejavu-core``) and Liberation (``fonts-liberation``) TrueType
  files where installed, found by path (and in matplotlib's bundled copy of DejaVu if matplotlib is
  installed), plus Pillow's own scalable default font (Aileron, embedded in Pillow >= 10.1), so
  at least one font always exists. Which fonts were used is part of a data set's version key:
  a machine with other fonts builds (and caches) its own version, never a stale one.
* :func:`cached_build` builds a data set once (with a progress bar) and keeps it as ``.npz`` +
  ``.json`` under ``$GAPBENCH_CACHE_DIR`` or the user cache directory, named by a version key
  (a hash of the builder's version, its arguments and the inputs' identities).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.errors import InputError

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "immunohistochemistry")
SKLEARN_PHOTOS = ("china", "flower")
PHOTOS: tuple[str, ...] = SKIMAGE_PHOTOS + SKLEARN_PHOTOS

# font search: (display name, candidate paths); the first existing path wins
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
              "/usr/share/fonts/truetype/liberation2", "/usr/local/share/fonts", "/Library/Fonts",
              "C:/Windows/Fonts")
_FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf",
    "LiberationSans-Regular.ttf", "LiberationSerif-Regular.ttf", "LiberationMono-Regular.ttf",
)
PILLOW_DEFAULT = "pillow-default"


@cache
def photo(name: str) -> np.ndarray:
    """One bundled photograph as a read-only ``(H, W, 3)`` uint8 RGB array."""
    if name in SKIMAGE_PHOTOS:
        from skimage import data

        img = np.asarray(getattr(data, name)())
    elif name in SKLEARN_PHOTOS:
        from sklearn.datasets import load_sample_image

        img = np.asarray(load_sample_image(f"{name}.jpg"))
    else:
        raise InputError(None, "photograph", f"one of {', '.join(PHOTOS)}", name)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3].astype(np.uint8))
    img.setflags(write=False)
    return img


@dataclass(frozen=True)
class FontFile:
    """A font the renderers can use: its name and path (None for Pillow's embedded default)."""

    name: str
    path: str | None

    def load(self, size: int) -> Any:
        from PIL import ImageFont

        if self.path is None:
            return ImageFont.load_default(size=size)
        return ImageFont.truetype(self.path, size=size)

    def identity(self) -> str:
        """Name and file size: part of the version key of data rendered with it."""
        if self.path is None:
            import PIL

            return f"{self.name}@pillow-{PIL.__version__}"
        return f"{self.name}@{os.path.getsize(self.path)}"


def _matplotlib_fonts() -> list[Path]:
    try:
        import importlib.util

        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "mpl-data" / "fonts" / "ttf" for p in spec.submodule_search_locations]


@lru_cache(maxsize=1)
def available_fonts() -> tuple[FontFile, ...]:
    """The fonts found here (see the module docstring), in a fixed order; never empty."""
    dirs = [Path(d) for d in _FONT_DIRS] + _matplotlib_fonts()
    out: list[FontFile] = []
    for fname in _FONT_FILES:
        for d in dirs:
            p = d / fname
            if p.is_file():
                out.append(FontFile(fname.rsplit(".", 1)[0], str(p)))
                break
    out.append(FontFile(PILLOW_DEFAULT, None))
    return tuple(out)


def version_key(builder: str, version: int, args: dict[str, Any], inputs: list[str]) -> str:
    """A short hash naming one build of a data set."""
    blob = json.dumps({"builder": builder, "version": version, "args": args, "inputs": inputs}, sort_keys=True)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def data_cache_dir() -> Path:
    """``$GAPBENCH_CACHE_DIR/datasets`` or the user cache directory's ``datasets``."""
    from gapbench.core.cache_dirs import user_cache

    return user_cache("datasets")


Built = tuple[list[np.ndarray], list[dict[str, Any]]]


def cached_build(name: str, key: str, n: int, make_one: Callable[[int], tuple[np.ndarray, dict[str, Any]]]
                 ) -> Built:
    """Items ``0..n-1`` of a data set, from the cache when this version was built before.

    ``make_one(i)`` -> (image, record). The cache holds ``<name>-<key>.npz`` (the images) and
    ``.json`` (the records); a damaged or partial pair is rebuilt. An unwritable cache directory
    only costs the rebuild next time.
    """
    from gapbench.core.progress import progress

    folder = data_cache_dir()
    npz, meta = folder / f"{name}-{key}.npz", folder / f"{name}-{key}.json"
    if npz.is_file() and meta.is_file():
        try:
            records = json.loads(meta.read_text())
            with np.load(npz) as z:
                images = [z[f"i{k}"] for k in range(len(records))]
            if len(records) == n:
                return images, records
        except (OSError, ValueError, KeyError):
            pass
    images, records = [], []
    with progress(n, f"building {name}") as advance:
        for i in range(n):
            img, rec = make_one(i)
            images.append(img)
            records.append(rec)
            advance(1)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = npz.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez_compressed(tmp, **{f"i{k}": im for k, im in enumerate(images)})
        os.replace(tmp, npz)
        meta.write_text(json.dumps(records))
    except OSError:
        pass
    return images, records


def generator_versions(builder_version: int, fonts: bool = False) -> dict[str, str]:
    """What made an embedded vision data set, for the run document (``TaskSpec.generator``)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"builder_version": str(builder_version)}
    for dist in ("pillow", "scikit-image", "scikit-learn"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    if fonts:
        out["fonts"] = ", ".join(f.identity() for f in available_fonts())
    return out
