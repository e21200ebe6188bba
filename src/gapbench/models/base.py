"""The model adapter protocol: any model becomes ``preprocess -> predict(batch) -> postprocess``.

* ``name``: how the model is called in results (its URI, e.g. ``builtin:digits-logreg``).
* ``task_types``: the task types it can serve (empty = any).
* ``fingerprint()``: a stable hash of everything that determines the outputs (weights, config,
  code version). The response cache keys on it: change the model, and nothing stale is reused.
* ``settings()``: what else changes an answer without changing the model (prompt template,
  generation settings); the cache keys on it too. ``deterministic``: False for sampled outputs,
  which the cache refuses unless asked.
* ``preprocess(input)``: per sample, runs in the runner's prefetch threads, so it must be
  thread-safe (default identity).
* ``predict(batch)``: the forward pass on a list of preprocessed inputs -> one raw output each.
* ``postprocess(raw)``: raw output -> the *response* (default identity): text for tasks with an
  answer-extraction step, else anything :func:`coerce_prediction` turns into the task's type.

An adapter is never changed to serve a task: ``for_task(task_type)`` checks the type and returns
the adapter (or, for multi-task adapters, a view bound to that type), so one replica can serve a
sweep or a pool.
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gapbench.core.predictions import (
    Choice,
    ClassScores,
    Detections,
    SegMask,
    SpeakerTurns,
    TextDetections,
    Transcript,
)


class PredictionTypeError(ValueError):
    """A raw model output that cannot become the task's prediction type."""

    def __init__(self, expected: str, got: Any) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"expected {expected}, got {got!r}")


class ModelAdapter(ABC):
    """Base class for adapters; subclasses implement ``predict`` and ``fingerprint``."""

    name: str = "model"
    task_types: tuple[str, ...] = ()
    deterministic: bool = True

    def for_task(self, task_type: str) -> ModelAdapter:
        """The adapter serving ``task_type`` (itself; multi-task adapters may return a bound view)."""
        if self.task_types and task_type not in self.task_types:
            from gapbench.errors import InputError

            raise InputError(self.name, None, f"a task of type {' or '.join(self.task_types)}", task_type)
        return self

    def settings(self) -> dict[str, Any]:
        """What changes the answers besides the model itself (prompt, generation settings)."""
        return {}

    @abstractmethod
    def fingerprint(self) -> str:
        """Stable hash of what determines the outputs (weights, config, code version)."""

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        return input

    @abstractmethod
    def predict(self, batch: list[Any]) -> list[Any]:
        """One raw output per input, in order."""

    def postprocess(self, raw: Any) -> Any:
        return raw

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _masks(masks: Any, n_boxes: int) -> tuple[dict[str, Any], ...]:
    """Detection masks as compressed RLE dicts (:mod:`gapbench.core.instance_masks`), or the error."""
    from gapbench.core.instance_masks import masks_to_rle

    try:
        return masks_to_rle(masks, n_boxes)
    except ValueError as exc:
        raise PredictionTypeError("masks: one binary H x W array or COCO RLE dict per box", str(exc)) from None


def coerce_prediction(task_type: str, raw: Any, num_classes: int | None = None) -> Any:
    """Turn a plain Python/numpy output into the typed prediction for ``task_type``, validated.

    image-classification: ClassScores or a 1-D sequence of finite numbers (one score per class,
    ``num_classes`` of them when the task declares it);
    asr: Transcript or str; object-detection: Detections or ``{"boxes", "scores", "labels"}``;
    semantic-segmentation: SegMask or a 2-D integer array; diarization: SpeakerTurns or a list of
    ``(start, end, speaker)``; spectrogram-mcq: Choice or str (the option label).
    """
    if task_type == "image-classification":
        width = f"{num_classes} " if num_classes else ""
        expected = f"{width}class scores (a 1-D sequence of numbers, one per class)"
        if isinstance(raw, ClassScores):
            raw = raw.scores
        if type(raw) in (list, tuple) and raw and all(type(v) is float or type(v) is int for v in raw):
            # plain Python numbers: the same checks without numpy (a few us less per sample, which a
            # latency scenario measures; numpy's code also runs cold after a long model call)
            if num_classes and len(raw) != num_classes:
                raise PredictionTypeError(expected, f"{len(raw)} scores")
            if any(v != v for v in raw):
                raise PredictionTypeError("class scores without NaN", raw)
            return ClassScores(tuple(float(v) for v in raw))
        if isinstance(raw, (str, bytes, Mapping)) or _is_number(raw):
            raise PredictionTypeError(expected, raw)
        try:
            arr = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise PredictionTypeError(expected, raw) from None
        if arr.ndim != 1 or arr.size == 0:
            raise PredictionTypeError(expected, raw)
        if num_classes and arr.size != num_classes:
            raise PredictionTypeError(expected, f"{arr.size} scores")
        if np.isnan(arr).any():
            raise PredictionTypeError("class scores without NaN", raw)
        return ClassScores.of(arr)
    if task_type == "asr":
        if isinstance(raw, Transcript):
            return raw
        if isinstance(raw, str):
            return Transcript(raw)
        raise PredictionTypeError("a transcript (str)", raw)
    if task_type == "object-detection":
        if isinstance(raw, Detections):
            if raw.masks:  # checked like the boxes; arrays are stored as RLE
                return dataclasses.replace(raw, masks=_masks(raw.masks, len(raw.boxes)))
            return raw
        if isinstance(raw, Mapping) and {"boxes", "scores", "labels"} <= set(raw):
            boxes = tuple(tuple(float(v) for v in b) for b in raw["boxes"])
            if any(len(b) != 4 for b in boxes):
                raise PredictionTypeError("boxes as [x, y, w, h]", raw["boxes"])
            scores = tuple(float(s) for s in raw["scores"])
            if (boxes and not np.isfinite(boxes).all()) or (scores and np.isnan(scores).any()):
                raise PredictionTypeError("finite boxes and scores", raw)
            labels = tuple(int(c) for c in raw["labels"])
            if "texts" in raw:  # OCR: each box's recognised text
                return TextDetections(boxes, scores, labels, tuple(str(t) for t in raw["texts"]))
            if raw.get("masks") is not None:  # instance segmentation: one mask per box
                return Detections(boxes, scores, labels, masks=_masks(raw["masks"], len(boxes)))
            return Detections(boxes, scores, labels)
        raise PredictionTypeError("detections {'boxes', 'scores', 'labels'}", raw)
    if task_type == "semantic-segmentation":
        if isinstance(raw, SegMask):
            return raw
        arr = np.asarray(raw) if not isinstance(raw, (str, bytes)) else np.asarray(0)
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
            raise PredictionTypeError("an H x W integer mask", raw)
        return SegMask(arr.astype(np.int64))
    if task_type == "diarization":
        if isinstance(raw, SpeakerTurns):
            return raw
        try:
            turns = tuple((float(s), float(e), str(spk)) for s, e, spk in raw)
        except (TypeError, ValueError):
            raise PredictionTypeError("speaker turns [(start, end, speaker), ...]", raw) from None
        return SpeakerTurns(turns)
    if task_type == "spectrogram-mcq":
        if isinstance(raw, Choice):
            return raw
        if isinstance(raw, str):
            return Choice(label=raw.strip(), raw=raw)
        raise PredictionTypeError("an option label (str)", raw)
    raise ValueError(f"unknown task type {task_type!r}")


def as_list(out: Any) -> list[Any] | None:
    """A model's batch output as a list (arrays split on axis 0); None if it is not a sequence."""
    if isinstance(out, list):
        return out
    if isinstance(out, np.ndarray):
        return list(out) if out.ndim >= 1 else None
    if isinstance(out, (str, bytes, Mapping)):
        return None
    if isinstance(out, Sequence):
        return list(out)
    if hasattr(out, "__iter__"):
        return list(out)
    return None
