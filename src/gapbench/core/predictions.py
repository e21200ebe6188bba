"""Typed predictions, one per task type, with a JSON form for the response cache and store."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Transcript:
    """ASR output: the hypothesis text."""

    kind: ClassVar[str] = "transcript"
    text: str


@dataclass(frozen=True)
class ClassScores:
    """Classification output: one score per class (logits or probabilities)."""

    kind: ClassVar[str] = "class-scores"
    scores: tuple[float, ...]

    @classmethod
    def of(cls, scores: Any) -> ClassScores:
        return cls(tuple(float(x) for x in np.asarray(scores, dtype=float).ravel()))


@dataclass(frozen=True)
class Detections:
    """Detection output for one image: COCO-style ``[x, y, w, h]`` boxes, scores, category ids.

    ``masks`` (instance segmentation): none, or one compressed COCO RLE dict per box
    (``{"size": [h, w], "counts": str}``, :func:`gapbench.core.instance_masks.masks_to_rle`);
    keyword-only so subclasses keep their positional fields."""

    kind: ClassVar[str] = "detections"
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    scores: tuple[float, ...] = ()
    labels: tuple[int, ...] = ()
    masks: tuple[dict[str, Any], ...] = field(default=(), kw_only=True, hash=False)

    def to_json(self) -> dict[str, Any]:
        data = {"kind": self.kind, **asdict(self)}
        if not self.masks:  # box-only detections keep their JSON (and cached responses) as before
            del data["masks"]
        return data


@dataclass(frozen=True)
class TextDetections(Detections):
    """Text lines (OCR): detections that also carry each box's recognised text."""

    kind: ClassVar[str] = "text-detections"
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SegMask:
    """Semantic segmentation output: an ``H x W`` array of class indices."""

    kind: ClassVar[str] = "seg-mask"
    mask: np.ndarray = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.mask.shape), "mask": self.mask.ravel().tolist()}


@dataclass(frozen=True)
class SpeakerTurns:
    """Diarization output: ``(start, end, speaker)`` turns in seconds."""

    kind: ClassVar[str] = "speaker-turns"
    turns: tuple[tuple[float, float, str], ...] = ()


@dataclass(frozen=True)
class Choice:
    """Multiple-choice output: the chosen option label (e.g. ``"B"``) and the raw text."""

    kind: ClassVar[str] = "choice"
    label: str
    raw: str = ""


PREDICTION_TYPES: dict[str, type] = {
    t.kind: t for t in (Transcript, ClassScores, Detections, TextDetections, SegMask, SpeakerTurns, Choice)
}


def prediction_to_json(pred: Any) -> dict[str, Any]:
    """Serialise a typed prediction (for the cache and the store)."""
    if hasattr(pred, "to_json"):
        return pred.to_json()
    return {"kind": pred.kind, **asdict(pred)}


def prediction_from_json(data: dict[str, Any]) -> Any:
    """Inverse of :func:`prediction_to_json`."""
    data = dict(data)
    kind = data.pop("kind")
    cls = PREDICTION_TYPES[kind]
    if cls is SegMask:
        return SegMask(np.asarray(data["mask"], dtype=np.int64).reshape(data["shape"]))
    fields = {k: _tuplify(v) for k, v in data.items()}
    return cls(**fields)


def _tuplify(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_tuplify(x) for x in v)
    return v
