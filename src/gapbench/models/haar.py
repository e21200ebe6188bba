"""``haar-frontalface`` (= ``builtin:haar-frontalface``): OpenCV's Viola-Jones face detector.

The cascade file ``haarcascade_frontalface_default.xml`` ships with ``opencv-python-headless``
4.x (``cv2.data.haarcascades``); OpenCV 5 ships none, hence the ``<5`` pin. Settings:
``scaleFactor=1.1, minNeighbors=3, minSize=24 px`` on the greyscale image (ITU-R 601 luma,
``cv2.COLOR_RGB2GRAY``).

Score: ``detectMultiScale3(..., outputRejectLevels=True)`` returns per detection the
``levelWeights`` -- the sum of the weak classifiers' votes in the cascade's last stage, OpenCV's
confidence for a window that passed every stage (higher = more face-like). COCO AP only needs the
ranking, so the raw weight is the score.

Two task types from one adapter (``for_task`` returns a bound view, the adapter is not changed):

* ``object-detection``: category 1 (``face``) boxes ``[x, y, w, h]`` with those scores.
* ``image-classification`` (the ``faces-cls`` crops): the crop is padded by a quarter of its size
  on every side (replicated edge: the cascade needs context around a tight crop) and searched at
  ``scaleFactor=1.05`` for faces at least half the crop's size. Output ``[non-face, face]``
  scores: ``face = sigmoid(max levelWeight)`` when a face is found, else 0; ``non-face = 1 - face``.
  Measured on the 200 ``lfw_subset`` crops at 96 px (the ``faces-cls`` task): 0.99 accuracy, no training.
"""
from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from gapbench.core.predictions import ClassScores, Detections
from gapbench.core.sample import content_hash
from gapbench.models.base import ModelAdapter

CASCADE = "haarcascade_frontalface_default.xml"
DETECT = {"scaleFactor": 1.1, "minNeighbors": 3, "min_size": 24}
CLASSIFY = {"scaleFactor": 1.05, "minNeighbors": 3, "pad": 0.25, "min_fraction": 0.5}


def _grey_uint8(image: Any) -> np.ndarray:
    import cv2

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        scale = 255.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 1.0
        arr = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = cv2.cvtColor(np.ascontiguousarray(arr[:, :, :3]), cv2.COLOR_RGB2GRAY)
    if arr.ndim != 2:
        from gapbench.errors import InputError

        raise InputError(None, "haar-frontalface input", "an H x W or H x W x 1/3/4 image", arr.shape)
    return np.ascontiguousarray(arr)


class HaarFrontalFace(ModelAdapter):
    """Face detection (and, through ``for_task``, face/non-face classification)."""

    name = "builtin:haar-frontalface"
    task_types = ("object-detection", "image-classification")

    def __init__(self) -> None:
        import cv2

        path = cv2.data.haarcascades + CASCADE
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            from gapbench.errors import ModelError

            raise ModelError(f"builtin:haar-frontalface: OpenCV could not load {path} "
                             "(opencv-python-headless 4.x ships it; 5.x does not)")
        self._lock = threading.Lock()  # a CascadeClassifier is not documented as thread-safe
        with open(path, "rb") as f:
            xml = f.read()
        self._fingerprint = content_hash({"adapter": self.name, "cascade": xml, "detect": DETECT,
                                          "classify": CLASSIFY, "opencv": cv2.__version__})

    def fingerprint(self) -> str:
        return self._fingerprint

    def for_task(self, task_type: str) -> ModelAdapter:
        super().for_task(task_type)
        return HaarFaceClassifier(self) if task_type == "image-classification" else self

    def preprocess(self, input: Any) -> np.ndarray:  # noqa: A002
        return _grey_uint8(input)

    def detect(self, grey: np.ndarray, scale: float, neighbours: int, min_size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (N, 4) xywh, levelWeights (N,))`` on one greyscale uint8 image."""
        with self._lock:
            boxes, _levels, weights = self._cascade.detectMultiScale3(
                grey, scaleFactor=scale, minNeighbors=neighbours, minSize=(min_size, min_size),
                outputRejectLevels=True)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return boxes, np.asarray(weights, dtype=np.float64).reshape(-1)

    def predict(self, batch: list[Any]) -> list[Detections]:
        out = []
        for grey in batch:
            boxes, weights = self.detect(grey, DETECT["scaleFactor"], DETECT["minNeighbors"], DETECT["min_size"])
            out.append(Detections(tuple(tuple(float(v) for v in b) for b in boxes),
                                  tuple(float(w) for w in weights), (1,) * len(boxes)))
        return out


class HaarFaceClassifier(ModelAdapter):
    """The detector run on a padded crop: ``[non-face, face]`` scores (see the module docstring)."""

    task_types = ("image-classification",)

    def __init__(self, detector: HaarFrontalFace) -> None:
        self.detector = detector
        self.name = detector.name

    def fingerprint(self) -> str:
        return self.detector.fingerprint()

    def preprocess(self, input: Any) -> np.ndarray:  # noqa: A002
        import cv2

        grey = _grey_uint8(input)
        p = int(CLASSIFY["pad"] * max(grey.shape))
        return cv2.copyMakeBorder(grey, p, p, p, p, cv2.BORDER_REPLICATE)

    def predict(self, batch: list[Any]) -> list[ClassScores]:
        out = []
        for padded in batch:
            side = min(padded.shape) / (1 + 2 * CLASSIFY["pad"])
            _, weights = self.detector.detect(padded, CLASSIFY["scaleFactor"], CLASSIFY["minNeighbors"],
                                              max(1, int(CLASSIFY["min_fraction"] * side)))
            face = 1.0 / (1.0 + math.exp(-float(weights.max()))) if len(weights) else 0.0
            out.append(ClassScores((1.0 - face, face)))
        return out
