"""``ocr-scenes``: text lines rendered with real fonts onto bundled photographs (offline).

Each scene is one photograph (:data:`gapbench.data.photos.PHOTOS`, in turn) with 2-4 text lines
of 1-3 common English words (a number now and then). Per line, drawn from a seeded generator:
a font from :func:`~gapbench.data.photos.available_fonts`, a size of 12-48 px (about a quarter of
the lines 12-16 px: small text), a rotation of up to 10 degrees either way (half the lines are
level), a fill chosen against the local background's luminance (black on light, white on dark)
and, for half the lines, a thin outline of the opposite colour. Lines never overlap (6 px apart).

Ground truth per line: the COCO ``[x, y, w, h]`` box bounding the rendered ink (alpha > 0 after
rotation) and the exact string. Reference per scene::

    {"boxes": [[x, y, w, h], ...], "labels": [1, ...], "texts": ["...", ...],
     "width": W, "height": H, "categories": [{"id": 1, "name": "text"}]}

``boxes`` is the key geometric shifts move (:mod:`gapbench.shifts.image_geometry`). Scenes are
built once and cached (:func:`~gapbench.data.photos.cached_build`); the version key covers the
builder version, the arguments, the fonts found and the Pillow version.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gapbench.core.sample import Sample
from gapbench.data.photos import PHOTOS, available_fonts, cached_build, generator_versions, photo, version_key

BUILDER_VERSION = 1
TEXT_CATEGORIES = [{"id": 1, "name": "text"}]
WORDS = (
    "open", "daily", "coffee", "station", "north", "market", "garden", "street", "exit", "sale", "hotel",
    "bakery", "river", "metro", "parking", "closed", "welcome", "fresh", "bread", "museum", "library",
    "school", "bridge", "harbor", "city", "center", "music", "night", "morning", "orange", "green",
    "silver", "tower", "park", "avenue", "route", "ticket", "office", "pharmacy", "gallery", "cinema",
    "theatre", "pizza", "books", "flowers", "repair", "service", "public", "private", "entrance", "floor",
    "lobby", "bank", "post", "train", "platform", "gate", "terminal", "airport", "taxi", "stop", "speed",
    "limit", "danger", "caution", "water", "fire", "police", "hospital", "clinic", "dental", "studio",
    "design", "print", "copy", "shop", "store", "outlet", "market", "dinner", "lunch", "menu", "wine",
)
MARGIN = 6  # px between lines and from the border


def _line_text(rng: np.random.Generator) -> str:
    words = [str(rng.choice(WORDS)) for _ in range(int(rng.integers(1, 4)))]
    if rng.random() < 0.25:
        words.append(str(int(rng.integers(1, 1000))))
    return " ".join(words).upper() if rng.random() < 0.2 else " ".join(words)


def _line_size(rng: np.random.Generator) -> int:
    return int(rng.integers(12, 17)) if rng.random() < 0.25 else int(rng.integers(17, 49))


def _render_line(text: str, font: Any, size: int, angle: float, fill: int, stroke: int) -> np.ndarray:
    """The line as an RGBA array, rotated by ``angle`` degrees and cropped to its ink."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    pad = 4 + stroke
    layer = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    ink = (fill, fill, fill, 255)
    edge = (255 - fill, 255 - fill, 255 - fill, 255)
    ImageDraw.Draw(layer).text((pad - left, pad - top), text, font=font, fill=ink,
                               stroke_width=stroke, stroke_fill=edge)
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    arr = np.asarray(layer)
    ys, xs = np.nonzero(arr[:, :, 3])
    return arr[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _overlaps(box: list[int], boxes: list[list[int]]) -> bool:
    x, y, w, h = box
    for bx, by, bw, bh in boxes:
        if x < bx + bw + MARGIN and bx < x + w + MARGIN and y < by + bh + MARGIN and by < y + h + MARGIN:
            return True
    return False


def make_scene(index: int, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Scene ``index``: the image and its record (``boxes``, ``texts``, ``fonts``, ``photo``)."""
    rng = np.random.default_rng([seed, index, 0x0C5])
    name = PHOTOS[index % len(PHOTOS)]
    img = np.array(photo(name), dtype=np.float64)
    h, w = img.shape[:2]
    fonts = available_fonts()
    boxes: list[list[int]] = []
    texts: list[str] = []
    used: list[str] = []
    for _ in range(int(rng.integers(2, 5))):
        text = _line_text(rng)
        font_file = fonts[int(rng.integers(0, len(fonts)))]
        size = _line_size(rng)
        angle = float(rng.uniform(-10, 10)) if rng.random() < 0.5 else 0.0
        stroke = max(1, size // 16) if rng.random() < 0.5 else 0
        font = font_file.load(size)
        for _attempt in range(40):
            # render in white first to measure; the fill follows the background under the line
            probe = _render_line(text, font, size, angle, 255, stroke)
            lh, lw = probe.shape[:2]
            if lw + 2 * MARGIN >= w or lh + 2 * MARGIN >= h:
                break
            x = int(rng.integers(MARGIN, w - lw - MARGIN))
            y = int(rng.integers(MARGIN, h - lh - MARGIN))
            if _overlaps([x, y, lw, lh], boxes):
                continue
            lum = float(img[y: y + lh, x: x + lw].mean())
            fill = 0 if lum > 127 else 255
            layer = _render_line(text, font, size, angle, fill, stroke)
            lh, lw = layer.shape[:2]
            alpha = layer[:, :, 3:4].astype(np.float64) / 255.0
            region = img[y: y + lh, x: x + lw]
            img[y: y + lh, x: x + lw] = region * (1 - alpha) + layer[:, :, :3] * alpha
            boxes.append([x, y, lw, lh])
            texts.append(text)
            used.append(font_file.name)
            break
    record = {"boxes": boxes, "texts": texts, "fonts": used, "photo": name}
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), record


def ocr_scenes(n: int = 16, seed: int = 0) -> list[Sample]:
    """The ``ocr-scenes`` samples (built once, then read from the cache)."""
    import PIL

    fonts = available_fonts()
    key = version_key("ocr-scenes", BUILDER_VERSION, {"n": n, "seed": seed},
                      [f.identity() for f in fonts] + [f"pillow-{PIL.__version__}"])
    images, records = cached_build("ocr-scenes", key, n, lambda i: make_scene(i, seed))
    out = []
    for i, (img, rec) in enumerate(zip(images, records)):
        img.setflags(write=False)
        ref = {"boxes": [list(map(float, b)) for b in rec["boxes"]], "labels": [1] * len(rec["boxes"]),
               "texts": list(rec["texts"]), "width": int(img.shape[1]), "height": int(img.shape[0]),
               "categories": TEXT_CATEGORIES}
        out.append(Sample(f"ocr-scenes-{i}", img, ref, {"photo": rec["photo"], "fonts": rec["fonts"],
                                                        "lines": len(rec["texts"])}))
    return out


ocr_scenes.generator = lambda: generator_versions(BUILDER_VERSION, fonts=True)  # type: ignore[attr-defined]
