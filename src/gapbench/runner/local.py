"""The local runner: a task's samples through a model, batched, prefetched, timed, cached, scored.

Pipeline per batch (in sample order)::

    load (dataset iterator) -> cache lookup -> [thread pool] shift + preprocess
        -> predict (main thread) -> postprocess -> cache commit -> metric.update

While the model predicts batch ``i``, the pool is already shifting and preprocessing batches
``i+1 .. i+workers`` (``workers=0`` runs everything inline). Predictions are committed to the
response cache after every batch, keyed by (model fingerprint, sample key, shift, severity), so a
run that dies resumes with only the missing samples; a rerun with everything cached never calls
``predict``. The metric sees the same predictions in the same order either way, so a resumed run
scores exactly like a clean one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapbench.core.predictions import prediction_from_json, prediction_to_json
from gapbench.core.registry import Registry
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.core.sample import Sample, content_hash
from gapbench.core.task import TaskSpec, get_task
from gapbench.errors import InputError
from gapbench.latency.stats import BatchTiming, LatencyReport, summarize
from gapbench.models.base import ModelAdapter, PredictionTypeError, as_list
from gapbench.runner.cache import ResponseCache, open_cache

# shift name -> "module:attr" of ``fn(input, severity, seed) -> input``. Image and audio
# corruption families register here (e.g. SHIFTS.register("gaussian_noise", "gapbench.shifts.image:...")).
SHIFTS: Registry[Callable[[Any, Any, int], Any]] = Registry("shift")
SHIFTS.register("none", "gapbench.runner.local:no_shift")


def no_shift(x: Any, severity: Any = None, seed: int = 0) -> Any:
    """The clean input."""
    return x


def sample_seed(seed: int, key: str) -> int:
    """The per-sample seed of a shift: depends on the run seed and the sample's content only."""
    return int(content_hash([int(seed), key])[:8], 16)


@dataclass
class RunResult:
    """One task x model x shift run: the score, the latency, per-sample records, provenance inputs."""

    task: TaskSpec
    model: str
    model_fingerprint: str
    shift: str
    severity: Any
    seed: int
    score: ScoreResult
    latency: LatencyReport
    records: list[dict[str, Any]] = field(repr=False)
    n_samples: int
    n_cached: int
    n_computed: int
    config: dict[str, Any]
    cache_path: str | None = None

    @property
    def metrics(self) -> dict[str, MetricValue]:
        return self.score.metrics

    def result_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "shift": self.shift,
            "severity": self.severity,
            "metrics": {k: v.to_json() for k, v in self.score.metrics.items()},
            "n": self.n_samples,
            "n_cached": self.n_cached,
        }
        if self.score.notes:
            entry["notes"] = list(self.score.notes)
        return entry

    def to_json(self, run_id: str | None = None, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run document: ``{"run_id", "task", "model", "results", "latency", "provenance"}``."""
        return {
            "run_id": run_id,
            "task": self.task.name,
            "model": self.model,
            "results": [self.result_entry()],
            "latency": self.latency.to_json(),
            "provenance": provenance if provenance is not None else {},
        }


@dataclass
class _Pending:
    index: int
    samples: list[Sample]
    cached: dict[int, Any]  # position in batch -> typed prediction
    load_s: float
    future: Future[Any] | None = None
    done: Any = None

    def result(self) -> Any:
        return self.future.result() if self.future is not None else self.done


def _prepare(
    adapter: ModelAdapter,
    shift_fn: Callable[..., Any],
    shift: str,
    severity: Any,
    seed: int,
    samples: list[Sample],
) -> tuple[list[Any], list[float], list[float]]:
    inputs, t_shift, t_pre = [], [], []
    for s in samples:
        t0 = time.perf_counter()
        x = s.input if shift == "none" else shift_fn(s.input, severity, sample_seed(seed, s.key))
        t1 = time.perf_counter()
        x = adapter.preprocess(x)
        t2 = time.perf_counter()
        inputs.append(x)
        t_shift.append(t1 - t0)
        t_pre.append(t2 - t1)
    return inputs, t_shift, t_pre


def _batches(it: Iterator[Sample], size: int) -> Iterator[tuple[list[Sample], float]]:
    while True:
        t0 = time.perf_counter()
        batch: list[Sample] = []
        for s in it:
            batch.append(s)
            if len(batch) >= size:
                break
        if not batch:
            return
        yield batch, time.perf_counter() - t0


def run_task(
    task: str | TaskSpec,
    model: str | ModelAdapter | Callable[[list[Any]], Any] | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 32,
    workers: int = 2,
    cache: ResponseCache | str | Any = True,
    shift: str = "none",
    severity: Any = None,
    bootstrap: int = 1000,
    ci: bool = True,
    warmup_batches: int = 1,
    metric: Any = None,
    show_progress: bool = True,
) -> RunResult:
    """Run ``model`` on ``task`` and score it.

    ``model``: a URI (``builtin:digits-logreg``, ``python:mod:fn``...), an adapter, or a plain
    ``fn(list_of_inputs) -> list_of_predictions``; None uses the task's default model.
    ``cache``: True (``$GAPBENCH_CACHE_DIR`` or the user cache dir), a directory or ``.sqlite``
    path, a :class:`ResponseCache`, or False for none. ``metric`` overrides the task's metric
    (an unused Metric instance).
    """
    from gapbench.models.registry import load_model

    spec = get_task(task)
    if batch_size < 1:
        raise InputError(None, "batch size", "an integer >= 1", batch_size)
    if limit is not None and limit < 0:
        raise InputError(None, "limit", "an integer >= 0", limit)
    shift_fn = SHIFTS.get(shift)
    if shift == "none" and severity is not None:
        raise InputError(None, "shift 'none'", "no severity (severities belong to a shift)", severity)
    if model is None:
        if not spec.default_model:
            raise InputError(spec.source, "field 'default_model'", "a default model (or pass a model)")
        model = spec.default_model
    adapter = load_model(model)
    adapter.bind(spec.type)
    fingerprint = adapter.fingerprint()
    # a shifted input depends on the seed too: key the cache on it
    cache_shift = shift if shift == "none" else f"{shift}:seed={seed}"
    state = metric if metric is not None else spec.make_metric()
    rc = open_cache(cache)
    own_cache = rc is not None and rc is not cache

    samples_it, total = spec.open_samples(limit)
    records: list[dict[str, Any]] = []
    timings: list[BatchTiming] = []
    n_cached = n_computed = 0
    pool = (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gapbench-prefetch")
        if workers > 0
        else None
    )
    depth = workers + 1 if workers > 0 else 1
    pending: deque[_Pending] = deque()
    batches = _batches(samples_it, batch_size)
    exhausted = False
    t_start = time.perf_counter()

    def feed(index: int) -> bool:
        nonlocal exhausted
        try:
            batch, load_s = next(batches)
        except StopIteration:
            exhausted = True
            return False
        cached: dict[int, Any] = {}
        if rc is not None:
            hits = rc.get_many(fingerprint, [s.key for s in batch], cache_shift, severity)
            for pos, s in enumerate(batch):
                data = hits.get(s.key)
                if data is not None and data.get("kind") == spec.prediction_kind:
                    try:
                        cached[pos] = prediction_from_json(data)
                    except (KeyError, TypeError, ValueError):
                        pass  # damaged entry: recompute
        todo = [s for pos, s in enumerate(batch) if pos not in cached]
        item = _Pending(index, batch, cached, load_s)
        args = (adapter, shift_fn, shift, severity, seed, todo)
        if pool is not None:
            item.future = pool.submit(_prepare, *args)
        else:
            item.done = _prepare(*args)
        pending.append(item)
        return True

    from contextlib import nullcontext

    from gapbench.core.progress import progress

    bar = (
        progress(total, f"{spec.name} x {adapter.name}" + ("" if shift == "none" else f" [{shift}]"))
        if show_progress
        else nullcontext(lambda n=1: None)
    )
    next_index = 0
    try:
        with bar as advance:
            while True:
                while not exhausted and len(pending) < depth:
                    if feed(next_index):
                        next_index += 1
                if not pending:
                    break
                item = pending.popleft()
                inputs, t_shift, t_pre = item.result()
                batch = item.samples
                preds: list[Any] = [None] * len(batch)
                for pos, p in item.cached.items():
                    preds[pos] = p
                todo_pos = [pos for pos in range(len(batch)) if pos not in item.cached]
                e2e: dict[int, float] = {}
                if todo_pos:
                    todo_ids = [batch[p].id for p in todo_pos]
                    t0 = time.perf_counter()
                    raw_out = adapter.predict(inputs)
                    infer_s = time.perf_counter() - t0
                    raws = as_list(raw_out)
                    where = f"batch starting at sample {todo_ids[0]}"
                    if raws is None:
                        raise InputError(
                            adapter.name,
                            where,
                            "a list of predictions, one per input",
                            type(raw_out).__name__,
                        )
                    if len(raws) != len(todo_pos):
                        raise InputError(
                            adapter.name, where, f"{len(todo_pos)} predictions (one per input)", len(raws)
                        )
                    t_post: list[float] = []
                    new: list[tuple[str, dict[str, Any]]] = []
                    for pos, raw in zip(todo_pos, raws):
                        t1 = time.perf_counter()
                        try:
                            pred = adapter.postprocess(raw)
                        except PredictionTypeError as exc:
                            raise InputError(
                                adapter.name, f"sample {batch[pos].id}", exc.expected, exc.got
                            ) from None
                        t_post.append(time.perf_counter() - t1)
                        preds[pos] = pred
                        new.append((batch[pos].key, prediction_to_json(pred)))
                    if rc is not None:
                        rc.put_many(fingerprint, new, cache_shift, severity)
                    n = len(todo_pos)
                    bt = BatchTiming(
                        index=item.index,
                        n=n,
                        load=item.load_s * n / len(batch),
                        infer=infer_s,
                        shift=t_shift,
                        preprocess=t_pre,
                        postprocess=t_post,
                        t_done=time.perf_counter(),
                        durations=[_duration(batch[p]) for p in todo_pos],
                    )
                    timings.append(bt)
                    ps = bt.per_sample()
                    for j, pos in enumerate(todo_pos):
                        e2e[pos] = float(sum(ps[s][j] for s in ps))
                    n_computed += n
                n_cached += len(item.cached)
                state.update(preds, [s.reference for s in batch], ids=[s.id for s in batch])
                for pos, s in enumerate(batch):
                    records.append(
                        {
                            "sample_id": s.id,
                            "sample_key": s.key,
                            "shift": shift,
                            "severity": severity,
                            "cached": pos in item.cached,
                            "latency_s": e2e.get(pos),
                        }
                    )
                advance(len(batch))
    except BaseException as exc:
        if rc is not None and n_computed and not isinstance(exc, InputError):
            sys.stderr.write(
                f"gapbench: run stopped; {n_computed} new predictions are saved in "
                f"{rc.path} - rerun the same command to resume\n"
            )
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        cache_path = str(rc.path) if rc is not None else None
        if own_cache and rc is not None:
            rc.close()

    score = state.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    _merge_metric_records(records, score.records)
    latency = summarize(timings, warmup_batches=warmup_batches, t_start=t_start, cached_samples=n_cached)
    config = {
        "task": spec.name,
        "task_type": spec.type,
        "model": adapter.name,
        "shift": shift,
        "severity": severity,
        "limit": limit,
        "batch_size": batch_size,
        "workers": workers,
        "bootstrap": bootstrap,
        "ci": ci,
        "warmup_batches": warmup_batches,
        "seed": seed,
    }
    return RunResult(
        task=spec,
        model=adapter.name,
        model_fingerprint=fingerprint,
        shift=shift,
        severity=severity,
        seed=seed,
        score=score,
        latency=latency,
        records=records,
        n_samples=len(records),
        n_cached=n_cached,
        n_computed=n_computed,
        config=config,
        cache_path=cache_path,
    )


DEFAULT_OUT_DIR = "gapbench-out"


def run_and_save(
    task: str | TaskSpec,
    model: str | ModelAdapter | Callable[[list[Any]], Any] | None = None,
    *,
    store_url: str | None = None,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    **run_kwargs: Any,
) -> tuple[RunResult, dict[str, Any], Path]:
    """What ``gapbench run`` does: run (cache in ``<out_dir>/cache`` unless ``cache=`` is given),
    add provenance, write ``<out_dir>/<run_id>.json``, save run + records to the store.

    The JSON file is written before the store is touched, so a store failure loses nothing.
    Returns the RunResult, the run document and the JSON path.
    """
    from gapbench.core.provenance import collect_provenance
    from gapbench.runner.cache import default_cache_dir
    from gapbench.store import open_store

    out = Path(out_dir)
    run_kwargs.setdefault("cache", default_cache_dir(out))
    result = run_task(task, model, **run_kwargs)
    from gapbench.core.provenance import new_run_id

    run_id = new_run_id()
    prov = collect_provenance(
        seed=result.seed, config=result.config, model_fingerprint=result.model_fingerprint
    )
    doc = result.to_json(run_id=run_id, provenance=prov)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{run_id}.json"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    with open_store(store_url) as store:
        saved_id = store.save_run(doc, result.records)
    if saved_id != run_id:  # a store that assigns its own ids
        doc["run_id"] = saved_id
        json_path.unlink()
        json_path = out / f"{saved_id}.json"
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
    return result, doc, json_path


def run_to_json(task: str | TaskSpec, model: Any = None, **kwargs: Any) -> dict[str, Any]:
    """:func:`run_and_save`, returning only the run document (``run_id``, ``results``...)."""
    return run_and_save(task, model, **kwargs)[1]


def _duration(s: Sample) -> float | None:
    d = s.meta.get("duration") if isinstance(s.meta, dict) else None
    try:
        return float(d) if d is not None else None
    except (TypeError, ValueError):
        return None


def _merge_metric_records(records: list[dict[str, Any]], metric_records: list[dict[str, Any]]) -> None:
    """Fold the metric's per-sample rows into the runner's (by id when given, else by position)."""
    if not metric_records:
        return
    by_id = {}
    for r in metric_records:
        rid = r.get("sample_id", r.get("id")) if isinstance(r, dict) else None
        if rid is not None:
            by_id[str(rid)] = r
    if by_id:
        for rec in records:
            extra = by_id.get(rec["sample_id"])
            if extra:
                for k, v in extra.items():
                    if k not in rec and k != "id":
                        rec[k] = v
    elif len(metric_records) == len(records):
        for rec, extra in zip(records, metric_records):
            if isinstance(extra, dict):
                for k, v in extra.items():
                    rec.setdefault(k, v)
