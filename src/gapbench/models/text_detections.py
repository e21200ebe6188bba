"""The OCR prediction: detections that also carry each box's recognised text.

``TextDetections`` is a :class:`~gapbench.core.predictions.Detections` (so the object-detection
validation, the COCO metric and the store take it as it is) with one ``texts`` entry per box.
Its JSON form has ``kind: "text-detections"``; importing this module adds it to
``gapbench.core.predictions.PREDICTION_TYPES`` so the response cache reads it back (the OCR
adapter and metric import it; it belongs in ``core/predictions.py`` once that file takes it).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from gapbench.core.predictions import PREDICTION_TYPES, Detections


@dataclass(frozen=True)
class TextDetections(Detections):
    """Text lines: COCO ``[x, y, w, h]`` boxes, scores, category ids and the text of each box."""

    kind: ClassVar[str] = "text-detections"
    texts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


PREDICTION_TYPES.setdefault(TextDetections.kind, TextDetections)
