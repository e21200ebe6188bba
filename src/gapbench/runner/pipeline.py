"""The one per-batch step every runner drives: cache lookup, shift, preprocess, predict,
postprocess, validation, answer extraction, cache commit, stage timings.

``Pipeline.process(samples)`` does it all inline. The local runner splits it in two so a thread
pool can ``prepare`` (cache lookup, shift, preprocess: thread-safe) the next batches while the
main thread ``finish``-es this one (predict, postprocess, commit). A sweep keeps one task and one
model and builds a pipeline per (shift, severity) cell; a latency scenario runs it one query at
a time with no cache; a Ray actor would hold one.

What is cached is the adapter's *response*, after validation and before answer extraction:
for tasks without an extraction step the validated typed prediction, for tasks with one the text
(unparseable text is cached too: re-scoring with a better extraction rule needs no model call).
A response that fails validation (wrong width, NaN) is never cached.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapbench.core.predictions import (
    Choice,
    ClassScores,
    Detections,
    SpeakerTurns,
    Transcript,
    prediction_from_json,
    prediction_to_json,
)
from gapbench.core.sample import Sample, content_hash
from gapbench.errors import InputError, ModelError
from gapbench.latency.stages import STAGES
from gapbench.latency.stats import BatchTiming
from gapbench.models.base import ModelAdapter, PredictionTypeError, as_list, coerce_prediction
from gapbench.runner.cache import CacheKey, ResponseCache
from gapbench.shifts.base import CLEAN_CELL, ShiftCell
from gapbench.shifts.registry import get_family, sample_seed


@dataclass
class Skip:
    """A sample left out of a cell, and why (``--on-error skip``)."""

    sample_id: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"sample_id": self.sample_id, "reason": self.reason}


@dataclass
class Prepared:
    """A batch after cache lookup, shift and preprocess, waiting for the model."""

    samples: list[Sample]
    references: list[Any]  # after a geometric shift, the moved reference
    cached: dict[int, tuple[Any, dict[str, float] | None]]  # position -> (prediction, stored timings)
    todo: list[int]  # positions the model must compute
    inputs: list[Any]  # preprocessed inputs of ``todo``, in order
    shift_s: list[float]
    preprocess_s: list[float]
    decode_s: float = 0.0
    skipped: dict[int, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """A finished batch: one prediction per kept sample, which were cached, the timing."""

    samples: list[Sample]
    references: list[Any]
    predictions: list[Any]
    cached: list[bool]
    timing: BatchTiming | None  # None when nothing was computed
    stored_timings: list[dict[str, float] | None]  # per sample, for cached ones
    skipped: list[Skip]


class Pipeline:
    """One model serving one task type under one shift cell."""

    def __init__(
        self,
        adapter: ModelAdapter,
        task_type: str,
        *,
        cell: ShiftCell = CLEAN_CELL,
        seed: int = 0,
        cache: ResponseCache | None = None,
        extract: Callable[[str], Any] | None = None,
        num_classes: int | None = None,
        on_error: str = "raise",
        cache_sampled: bool = False,
        save_shifted: Path | None = None,
        save_n: int = 4,
    ) -> None:
        self.adapter = adapter.for_task(task_type)
        self.task_type = task_type
        self.cell = cell
        self.seed = seed
        self.extract = extract
        self.num_classes = num_classes
        self.on_error = on_error
        self.family = None if cell.is_clean else get_family(cell.shift)
        self.cache = cache if (adapter.deterministic or cache_sampled) else None
        self.key = CacheKey(
            fingerprint=adapter.fingerprint(),
            settings=content_hash(adapter.settings()) if adapter.settings() else "",
            shift=cell.shift,
            params=json.dumps(dict(cell.params), sort_keys=True, separators=(",", ":"), default=str),
            seed=-1 if cell.is_clean else int(seed),
        )
        self._batches = 0
        self._save_dir = None if save_shifted is None or cell.is_clean else Path(save_shifted) / _slug(cell)
        self._save_n = save_n
        self._saved = 0
        self._save_lock = threading.Lock()

    # ---- responses <-> predictions ----------------------------------------------------------

    def _response_json(self, response: Any, sample: Sample) -> tuple[Any, Any]:
        """Validate a response: ``(JSON form for the cache, prediction)``; raises ModelError."""
        if self.extract is not None:
            if not isinstance(response, str):
                raise self._bad_output(sample, "text for the task's answer extraction", response)
            return {"kind": "text", "text": response}, self.extract(response)
        try:
            pred = coerce_prediction(self.task_type, response, self.num_classes)
        except PredictionTypeError as exc:
            raise self._bad_output(sample, exc.expected, exc.got) from None
        # the JSON form only feeds the cache: without one (latency scenarios) it is not built
        return (prediction_to_json(pred) if self.cache is not None else None), pred

    def _from_cache(self, data: Any) -> Any:
        """The prediction of a cached response; raises (KeyError, TypeError, ValueError) if damaged."""
        if self.extract is not None:
            if not isinstance(data, dict) or data.get("kind") != "text" or not isinstance(data["text"], str):
                raise ValueError("not a text response")
            return self.extract(data["text"])
        pred = prediction_from_json(data)
        return coerce_prediction(self.task_type, pred, self.num_classes)

    def _bad_output(self, sample: Sample, expected: str, got: Any) -> ModelError:
        text = repr(got)
        text = text if len(text) <= 80 else text[:77] + "..."
        return ModelError(f"model {self.adapter.name}: sample {sample.id}: expected {expected}, got {text}")

    # ---- the two halves ------------------------------------------------------------------------

    def prepare(self, samples: Sequence[Sample], decode_s: float = 0.0) -> Prepared:
        """Cache lookup, shift and preprocess (thread-safe: the prefetch pool runs this)."""
        samples = list(samples)
        cached: dict[int, tuple[Any, dict[str, float] | None]] = {}
        if self.cache is not None:
            hits = self.cache.get_many(self.key, [s.key for s in samples])
            for pos, s in enumerate(samples):
                hit = hits.get(s.key)
                if hit is None:
                    continue
                try:
                    cached[pos] = (self._from_cache(hit.response), hit.timings)
                except (KeyError, TypeError, ValueError, PredictionTypeError):
                    pass  # a row of the wrong shape: recompute it
        refs = [s.reference for s in samples]
        todo, inputs, t_shift, t_pre, skipped = [], [], [], [], {}
        for pos, s in enumerate(samples):
            needs_model = pos not in cached
            if not needs_model and not (self.family is not None and self.family.geometric):
                continue
            t0 = time.perf_counter()
            try:
                x, refs[pos] = self._shift(s)
            except InputError as exc:
                if self.on_error == "raise":
                    raise
                skipped[pos] = exc.one_line()
                cached.pop(pos, None)
                continue
            t1 = time.perf_counter()
            if self._save_dir is not None:
                self._maybe_save(s, x)
            if not needs_model:
                continue
            x = self.adapter.preprocess(x)
            t2 = time.perf_counter()
            todo.append(pos)
            inputs.append(x)
            t_shift.append(t1 - t0)
            t_pre.append(t2 - t1)
        return Prepared(samples, refs, cached, todo, inputs, t_shift, t_pre, decode_s, skipped)

    def _maybe_save(self, s: Sample, x: Any) -> None:
        with self._save_lock:
            if self._saved >= self._save_n:
                return
            self._saved += 1
        from gapbench.shifts.apply import save_input

        save_input(x, self._save_dir / s.id.replace("/", "_"))

    def _shift(self, s: Sample) -> tuple[Any, Any]:
        if self.family is None:
            return s.input, s.reference
        try:
            return self.family.apply(s.input, s.reference, self.cell.params, sample_seed(self.seed, s.key))
        except InputError as exc:
            raise InputError(exc.file, f"sample {s.id}", exc.expected, exc.got) from None

    def finish(self, prep: Prepared) -> Outcome:
        """Predict the missing samples, validate, extract, commit to the cache, time the batch."""
        samples = prep.samples
        preds: dict[int, Any] = {pos: p for pos, (p, _) in prep.cached.items()}
        skipped = {pos: reason for pos, reason in prep.skipped.items()}
        timing = None
        if prep.todo:
            t0 = time.perf_counter()
            try:
                raw_out = self.adapter.predict(prep.inputs)
            except Exception as exc:  # noqa: BLE001 - a user's model: say which, keep the rest
                first = samples[prep.todo[0]].id
                msg = (f"model {self.adapter.name} failed on batch {self._batches} (first sample {first}): "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
                if self.on_error == "raise":
                    raise ModelError(msg) from exc
                skipped.update({pos: msg for pos in prep.todo})
                raw_out = None
            infer_s = time.perf_counter() - t0
            # remote adapters report their time on the wire; it leaves ``inference`` for ``transport``
            take = getattr(self.adapter, "take_transport_s", None)
            transport_s = min(max(float(take()), 0.0), infer_s) if callable(take) else 0.0
            if raw_out is not None:
                timing = self._finish_computed(prep, raw_out, infer_s - transport_s, preds, skipped, transport_s)
        self._batches += 1
        keep = [pos for pos in range(len(samples)) if pos not in skipped]
        if self.on_error == "count":
            for pos in skipped:
                preds[pos] = null_prediction(self.task_type, prep.references[pos], self.num_classes)
            keep = list(range(len(samples)))
        return Outcome(
            samples=[samples[p] for p in keep],
            references=[prep.references[p] for p in keep],
            predictions=[preds[p] for p in keep],
            cached=[p in prep.cached for p in keep],
            timing=timing,
            stored_timings=[prep.cached[p][1] if p in prep.cached else None for p in keep],
            skipped=[Skip(samples[p].id, r) for p, r in sorted(skipped.items())],
        )

    def _finish_computed(self, prep: Prepared, raw_out: Any, infer_s: float, preds: dict[int, Any],
                         skipped: dict[int, str], transport_s: float = 0.0) -> BatchTiming:
        samples = prep.samples
        raws = as_list(raw_out)
        first = samples[prep.todo[0]].id
        if raws is None or len(raws) != len(prep.todo):
            got = type(raw_out).__name__ if raws is None else f"{len(raws)} outputs"
            raise ModelError(f"model {self.adapter.name}: batch starting at sample {first}: expected "
                             f"{len(prep.todo)} outputs (one per input), got {got}")
        t_post: list[float] = []
        new: list[tuple[int, Any]] = []
        for pos, raw in zip(prep.todo, raws):
            t1 = time.perf_counter()
            try:
                cache_json, pred = self._response_json(self.adapter.postprocess(raw), samples[pos])
            except ModelError as exc:
                if self.on_error == "raise":
                    raise
                skipped[pos] = str(exc)
                t_post.append(time.perf_counter() - t1)
                continue
            preds[pos] = pred
            new.append((pos, cache_json))
            t_post.append(time.perf_counter() - t1)
        timing = BatchTiming.of(
            index=self._batches, n=len(prep.todo), t_done=time.perf_counter(),
            per_sample={"shift": prep.shift_s, "preprocess": prep.preprocess_s, "postprocess": t_post},
            per_batch={"decode": prep.decode_s * len(prep.todo) / max(len(samples), 1), "inference": infer_s,
                       "transport": transport_s},
            durations=[_duration(samples[p]) for p in prep.todo],
        )
        if self.cache is not None and new:
            rows = timing.sample_rows()
            index = {pos: j for j, pos in enumerate(prep.todo)}
            self.cache.put_many(self.key, [(samples[pos].key, cj, {**rows[index[pos]], "batch": self._batches})
                                           for pos, cj in new])
        return timing

    def process(self, samples: Sequence[Sample]) -> Outcome:
        """Everything inline, one batch."""
        return self.finish(self.prepare(samples))


def null_prediction(task_type: str, reference: Any, num_classes: int | None) -> Any:
    """The prediction that scores a skipped sample as an error (``on_error="count"``)."""
    if task_type == "asr":
        return Transcript("")
    if task_type == "object-detection":
        return Detections()
    if task_type == "diarization":
        return SpeakerTurns()
    if task_type == "spectrogram-mcq":
        return Choice("")  # no answer: wrong
    if task_type == "image-classification" and num_classes:
        scores = [0.0] * num_classes
        scores[int(reference)] = -1.0  # ranked last: a miss at every k < num_classes
        return ClassScores(tuple(scores))
    raise InputError(None, "on_error", f"'skip' for {task_type} tasks ('count' has no error value)", "count")


def _slug(cell: ShiftCell) -> str:
    """A directory name for a cell: ``fog-3``, ``noise-snr_5``."""
    if cell.swept:
        return f"{cell.shift}-{cell.swept}_{cell.severity}"
    return cell.shift if cell.severity is None else f"{cell.shift}-{cell.severity}"


def _duration(s: Sample) -> float | None:
    d = s.meta.get("duration") if isinstance(s.meta, dict) else None
    if d is None and hasattr(s.input, "duration"):
        d = s.input.duration
    try:
        return float(d) if d is not None else None
    except (TypeError, ValueError):
        return None


__all__ = ["STAGES", "Outcome", "Pipeline", "Prepared", "Skip", "null_prediction"]
