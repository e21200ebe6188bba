"""Reading image files for the file-based vision data sets, and lazily loaded sample lists.

:func:`read_image` decodes with Pillow and returns an ``(H, W, 3)`` uint8 RGB array whatever the
file holds: EXIF orientation is applied (``ImageOps.exif_transpose``), CMYK / palette / greyscale
/ 1-bit become RGB, an alpha channel is composited onto white, 16- and 32-bit images are scaled
to 8 bits by their type's full range. Each kind of conversion is said once per process on
stderr (``gapbench: note: ...``), never silently. An unreadable file is one
:class:`~gapbench.errors.InputError` naming it.

:func:`read_mask` reads a label PNG as an ``(H, W)`` int64 array of its stored values (palette
indices for mode ``P``, never converted colours).

:class:`LazySamples` is a sized sequence that decodes on iteration, so a 50,000-image folder is
never held in memory; the runner times that decoding as its ``decode`` stage.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.sample import Sample, UnreadableSample
from gapbench.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
_SAID: set[str] = set()
_SAID_LOCK = threading.Lock()


def _say_once(kind: str, text: str) -> None:
    with _SAID_LOCK:
        if kind in _SAID:
            return
        _SAID.add(kind)
    sys.stderr.write(f"gapbench: note: {text}\n")


def read_image(path: str | Path, record: str | None = None) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB (see the module docstring for the conversions)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            exif = im.getexif().get(0x0112, 1) if hasattr(im, "getexif") else 1
            if exif not in (None, 1):
                _say_once("exif", "images with an EXIF orientation are rotated upright")
                im = ImageOps.exif_transpose(im)
            return _to_rgb(im, str(path))
    except FileNotFoundError:
        raise InputError(str(path), record, "an existing image file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(str(path), record, "a readable image (JPEG, PNG, ...)", str(exc).splitlines()[0]
                         if str(exc) else type(exc).__name__) from None


def _to_rgb(im: Any, where: str) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im).astype(np.float64)
        full = 65535.0 if mode.startswith("I;16") or (mode == "I" and arr.max(initial=0) <= 65535) else \
            float(max(arr.max(initial=1), 1))
        _say_once("deep", f"{mode} images are scaled to 8 bits (divided by {full:g}/255)")
        grey = np.clip(np.rint(arr / full * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        _say_once("alpha", "images with transparency are composited onto white")
        from PIL import Image

        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)
    _say_once(f"mode-{mode}", f"{mode} images are converted to RGB")
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def read_mask(path: str | Path, record: str | None = None) -> np.ndarray:
    """A label image as ``(H, W)`` int64 stored values (palette indices for ``P``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("P", "L", "I", "I;16", "I;16B", "I;16L", "1"):
                raise InputError(str(path), record, "a single-channel label image (mode P, L, I;16 or I)", im.mode)
            return np.asarray(im).astype(np.int64)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(str(path), record, "an existing mask file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(str(path), record, "a readable mask image (PNG)", str(exc).splitlines()[0]
                         if str(exc) else type(exc).__name__) from None


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def require_dir(path: str | Path | None, what: str, option: str = "--data") -> Path:
    """``path`` as an existing directory, or one InputError saying which option to give."""
    if path is None:
        raise InputError(None, option, f"a {what} ({option} PATH)")
    p = Path(path).expanduser()
    if not p.is_dir():
        raise InputError(str(p), None, f"a {what} (an existing directory)")
    return p


def require_file(path: str | Path | None, what: str, option: str) -> Path:
    if path is None:
        raise InputError(None, option, f"a {what} ({option} FILE)")
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(str(p), None, f"a {what} (an existing file)")
    return p


class LazySamples(Sequence[Sample]):
    """``n`` samples made on demand by ``make(i)`` (decoding happens while iterating).

    With ``sample_id`` (item ``i``'s id, known before decoding), iterating yields an
    :class:`~gapbench.core.sample.UnreadableSample` where ``make(i)`` raises an InputError, so a run
    under ``--on-error skip`` records that one sample and goes on (indexing still raises)."""

    def __init__(self, n: int, make: Callable[[int], Sample], sample_id: Callable[[int], str] | None = None) -> None:
        self._n = n
        self._make = make
        self._id = sample_id

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> Sample:  # type: ignore[override]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._make(i % self._n)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(self._n):
            if self._id is None:
                yield self._make(i)
                continue
            try:
                sample = self._make(i)
            except InputError as exc:
                yield UnreadableSample(self._id(i), exc)  # type: ignore[misc]  # the run decides
                continue
            yield sample
