"""``rapidocr`` (= ``builtin:rapidocr``): PP-OCR text detection + recognition, offline.

RapidOCR 3.x runs PaddleOCR's PP-OCR detector and recogniser with ONNX Runtime; the ONNX files
ship inside the ``rapidocr`` wheel, so nothing is downloaded. The text-direction classifier is
off (scene lines here are within 10 degrees of level). One engine serves every call; calls are
serialised by a lock (ONNX Runtime already uses every core inside one image).

Output per image: :class:`~gapbench.core.predictions.TextDetections` -- each detected
quadrilateral becomes the axis-aligned ``[x, y, w, h]`` box that bounds it, its score is the
recogniser's confidence (RapidOCR's per-line score; lines below its ``text_score`` 0.5 are
dropped by RapidOCR), category 1 (``text``), and the recognised string.

The fingerprint hashes the rapidocr version, the settings and the bytes of the ONNX files.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.predictions import TextDetections
from gapbench.core.sample import content_hash
from gapbench.models._common import hash_files
from gapbench.models.base import ModelAdapter

SETTINGS: dict[str, Any] = {"Global.use_cls": False, "Global.log_level": "critical"}


def _as_bgr_uint8(image: Any) -> np.ndarray:
    """An image array (grey, RGB, RGBA; uint8 or float in [0, 1] / [0, 255]) as BGR uint8."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        scale = 255.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 1.0
        arr = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        from gapbench.errors import InputError

        raise InputError(None, "rapidocr input", "an H x W or H x W x 1/3/4 image", arr.shape)
    return np.ascontiguousarray(arr[:, :, ::-1])


class RapidOCRModel(ModelAdapter):
    """RapidOCR's engine as an object-detection adapter whose boxes carry text."""

    name = "builtin:rapidocr"
    task_types = ("object-detection",)

    def __init__(self) -> None:
        import logging

        import rapidocr
        from rapidocr import RapidOCR

        self._engine = RapidOCR(params=dict(SETTINGS))
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._lock = threading.Lock()
        models = sorted(Path(rapidocr.__file__).parent.joinpath("models").glob("*.onnx"))
        self._fingerprint = content_hash({
            "adapter": self.name, "rapidocr": getattr(rapidocr, "__version__", "?"), "settings": SETTINGS,
            "models": hash_files(models),
        })

    def fingerprint(self) -> str:
        return self._fingerprint

    def settings(self) -> dict[str, Any]:
        return {}

    def preprocess(self, input: Any) -> np.ndarray:  # noqa: A002
        return _as_bgr_uint8(input)

    def predict(self, batch: list[Any]) -> list[TextDetections]:
        out = []
        for img in batch:
            with self._lock:
                res = self._engine(img)
            out.append(to_text_detections(res.boxes, res.txts, res.scores))
        return out


def to_text_detections(quads: Any, texts: Any, scores: Any) -> TextDetections:
    """RapidOCR's quadrilaterals, texts and scores as axis-aligned text detections."""
    if quads is None or texts is None or len(quads) == 0:
        return TextDetections()
    q = np.asarray(quads, dtype=np.float64).reshape(len(quads), -1, 2)
    x0, y0 = q[:, :, 0].min(axis=1), q[:, :, 1].min(axis=1)
    x1, y1 = q[:, :, 0].max(axis=1), q[:, :, 1].max(axis=1)
    boxes = tuple((float(a), float(b), float(c - a), float(d - b)) for a, b, c, d in zip(x0, y0, x1, y1))
    return TextDetections(boxes=boxes, scores=tuple(float(s) for s in scores), labels=(1,) * len(boxes),
                          texts=tuple(str(t) for t in texts))


_SHARED: list[RapidOCRModel] = []
_SHARED_LOCK = threading.Lock()


def shared() -> RapidOCRModel:
    """The process's one RapidOCR adapter (loading takes seconds; the adapter is never mutated,
    so every run, sweep cell and suite job may share it)."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(RapidOCRModel())
        return _SHARED[0]
