"""The local runner: a task's samples through a model, batched, prefetched, timed, cached, scored.

Per cell (the clean cell first, then each shift x severity of the spec), batches flow through a
:class:`~gapbench.runner.pipeline.Pipeline`: while the model predicts batch ``i`` on the main
thread, the pool already prepares (cache lookup, shift, preprocess) batches ``i+1 ..
i+workers`` (``workers=0`` runs everything inline). Predictions are committed to the response
cache after every batch, so a run that dies resumes with only the missing samples; a rerun with
everything cached never calls ``predict``. The metrics see the same predictions in the same order
either way, so a resumed run scores exactly like a clean one.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gapbench.core.gc_control import quiet_gc
from gapbench.core.results import MetricValue, ScoreResult, unclash
from gapbench.core.run_document import (
    DatasetInfo,
    ResultEntry,
    RunDocument,
    SampleRecord,
    dataset_fingerprint,
)
from gapbench.core.run_spec import RunSpec
from gapbench.core.sample import Sample, UnreadableSample
from gapbench.core.task import TaskSpec, get_task
from gapbench.latency.stats import IMAGE_TYPES, BatchTiming, LatencyReport, summarize
from gapbench.models.base import ModelAdapter
from gapbench.runner.cache import ResponseCache, default_cache_dir, open_cache
from gapbench.runner.pipeline import Outcome, Pipeline, Prepared, Skip
from gapbench.shifts.base import ShiftCell

DEFAULT_OUT_DIR = "gapbench-out"
MetricFactory = Callable[[], list[Any]]


@dataclass
class CellResult:
    """One cell of a run: its score, latency, records and counts."""

    cell: ShiftCell
    score: ScoreResult
    latency: LatencyReport
    records: list[SampleRecord] = field(repr=False)
    n_cached: int
    n_computed: int
    skipped: list[Skip]
    states: list[Any] = field(default_factory=list, repr=False)  # the metric states (paired summaries)

    @property
    def metrics(self) -> dict[str, MetricValue]:
        return self.score.metrics

    def entry(self) -> ResultEntry:
        return ResultEntry(
            metrics=dict(self.score.metrics), shift=self.cell.shift, severity=self.cell.severity,
            params=dict(self.cell.params), groups=dict(self.score.groups), n=len(self.records),
            n_cached=self.n_cached, n_computed=self.n_computed, notes=list(self.score.notes),
            skipped=[s.to_json() for s in self.skipped], latency=self.latency.to_json(),
        )


@dataclass
class RunOutcome:
    """What :func:`run` returns: the run document, every cell's details, the records."""

    spec: RunSpec
    task: TaskSpec
    model: str
    model_fingerprint: str
    cells: list[CellResult]
    document: RunDocument
    cache_path: str | None = None
    coco_files: list[Path] = field(default_factory=list)  # COCO GT/results files written (run_and_save)

    @property
    def clean(self) -> CellResult:
        return self.cells[0]

    @property
    def metrics(self) -> dict[str, MetricValue]:
        return self.cells[0].metrics

    @property
    def records(self) -> list[SampleRecord]:
        return [r for c in self.cells for r in c.records]


def run(
    spec: RunSpec,
    model: ModelAdapter | Callable[[list[Any]], Any] | None = None,
    *,
    cache: ResponseCache | str | os.PathLike[str] | bool | None = None,
    metrics: MetricFactory | None = None,
    show_progress: bool = True,
) -> RunOutcome:
    """Run ``spec``: every cell of its sweep, scored with intervals, timed, cached.

    ``model`` overrides ``spec.model`` with an adapter or a plain ``fn(inputs) -> predictions``.
    ``cache``: a ResponseCache or a path; None follows ``spec`` (``spec.cache`` or the default
    directory when ``spec.use_cache``). ``metrics`` overrides the task's metrics (a factory of
    fresh metric states).
    """
    from gapbench.models.registry import load_model

    task = get_task(spec.task)
    if spec.options.get("data") is not None:
        task = task.with_data(spec.options["data"], **{k: spec.options[k] for k in ("annotations", "labels", "uem")
                                                        if spec.options.get(k) is not None},
                              **spec.options.get("data_options", {}))
    target = model if model is not None else (spec.model or task.default_model)
    if target is None:
        from gapbench.errors import InputError

        raise InputError(task.source, "field 'default_model'", "a default model (or pass a model)")
    adapter = load_model(target, **spec.model_options) if isinstance(target, str) else load_model(target)
    adapter.for_task(task.type)
    if cache is None:
        cache = (spec.cache or True) if spec.use_cache else False
    rc = open_cache(cache)
    own_cache = rc is not None and rc is not cache
    make_metrics = metrics or task.make_metrics
    if spec.options.get("metrics"):  # `run --metric NAME`: added to the task's own (e.g. semdist)
        from gapbench.metrics.addable import with_added

        make_metrics = with_added(make_metrics, task, spec.options["metrics"])
    extract = task.make_extractor()
    cells: list[CellResult] = []
    keys: list[str] = []
    from gapbench.runner.sweep import attach_noise_sources

    try:
        with quiet_gc():  # the model and the imported libraries: not walked by collections in the run
            for i, cell in enumerate(attach_noise_sources(spec.cells, task, spec)):
                pipe = Pipeline(adapter, task.type, cell=cell, seed=spec.seed, cache=rc, extract=extract,
                                num_classes=task.num_classes, on_error=spec.on_error,
                                cache_sampled=spec.cache_sampled,
                                save_shifted=Path(spec.save_shifted) if spec.save_shifted else None,
                                save_n=spec.save_shifted_n)
                cells.append(_run_cell(task, pipe, spec, make_metrics(), keys if i == 0 else None,
                                       show_progress))
    finally:
        cache_path = str(rc.path) if rc is not None else None
        if own_cache and rc is not None:
            rc.close()
    doc = RunDocument(
        task=task.name, model=adapter.name, results=[c.entry() for c in cells],
        dataset=DatasetInfo(task.name, len(keys), dataset_fingerprint(keys), task.generator()),
        latency=cells[0].latency.to_json(), spec=spec.to_json(),
        metric_info=_metric_info(make_metrics()),
    )
    from gapbench.scoring.run_states import HEADERS_KEY, attach_states  # per-sample states: `compare runs`

    doc.extra[HEADERS_KEY] = [attach_states(c.records, c.states, i) for i, c in enumerate(cells)]
    if len(cells) > 1:
        from gapbench.runner.sweep import sweep_summary

        doc.summary = sweep_summary(cells, bootstrap=spec.bootstrap, seed=spec.seed, ci=spec.ci,
                                    baseline=spec.baseline)
    return RunOutcome(spec, task, adapter.name, adapter.fingerprint(), cells, doc, cache_path)


def _metric_info(states: list[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for m in states:
        taken = set(out)
        for name, info in getattr(m, "declared", {}).items():
            out[unclash(getattr(m, "name", "metric"), name, taken)] = info.to_json()
    return out


def _readable(items: Iterator[Sample | UnreadableSample], unreadable: list[Skip],
              advance: Callable[[int], Any]) -> Iterator[Sample]:
    """The samples, with the items the data set could not read set aside as skips."""
    for item in items:
        if isinstance(item, UnreadableSample):
            unreadable.append(Skip(item.id, item.error.one_line()))
            advance(1)
        else:
            yield item


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


def _prefetched(pipe: Pipeline, batches: Iterator[tuple[list[Sample], float]], workers: int
                ) -> Iterator[Outcome]:
    """Finish batches in order while up to ``workers`` later ones are being prepared."""
    if workers <= 0:
        for batch, decode_s in batches:
            yield pipe.finish(pipe.prepare(batch, decode_s))
        return
    pending: deque[Future[Prepared]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gapbench-prefetch") as pool:
        try:
            for batch, decode_s in batches:
                pending.append(pool.submit(pipe.prepare, batch, decode_s))
                if len(pending) > workers:
                    yield pipe.finish(pending.popleft().result())
            while pending:
                yield pipe.finish(pending.popleft().result())
        finally:
            for f in pending:
                f.cancel()


def _run_cell(task: TaskSpec, pipe: Pipeline, spec: RunSpec, states: list[Any], keys: list[str] | None,
              show_progress: bool) -> CellResult:
    from gapbench.core.progress import progress

    samples_it, total = task.open_samples(spec.limit, spec.on_error)
    cell = pipe.cell
    records: list[SampleRecord] = []
    timings: list[BatchTiming] = []
    stored: list[dict[str, float]] = []
    skipped: list[Skip] = []
    unreadable: list[Skip] = []  # items the data set could not read (--on-error skip|count)
    n_cached = n_computed = 0
    label = f"{task.name} x {pipe.adapter.name}" + ("" if cell.is_clean else f" [{cell.label()}]")
    bar = progress(total, label) if show_progress else nullcontext(lambda n=1: None)
    t_start = time.perf_counter()
    try:
        with bar as advance:
            readable = _readable(samples_it, unreadable, advance)
            for out in _prefetched(pipe, _batches(readable, spec.batch_size), spec.workers):
                if keys is not None:
                    keys.extend(s.key for s in out.samples)
                ids = [s.id for s in out.samples]
                for m in states:
                    m.update(out.predictions, out.references, ids=ids)
                e2e = _end_to_end(out)
                for j, s in enumerate(out.samples):
                    records.append(SampleRecord(
                        s.id, cell.shift, cell.severity,
                        {"sample_key": s.key, "cached": out.cached[j], "latency_s": e2e.get(j)}, dict(s.meta)))
                stored += [t for t in out.stored_timings if t]
                if out.timing is not None:
                    timings.append(out.timing)
                    n_computed += out.timing.n
                n_cached += sum(out.cached)
                skipped += out.skipped
                advance(len(out.samples) + (0 if spec.on_error == "count" else len(out.skipped)))
    except BaseException as exc:
        from gapbench.errors import InputError

        if pipe.cache is not None and n_computed and not isinstance(exc, InputError):
            sys.stderr.write(f"gapbench: run stopped; {n_computed} new predictions are saved in "
                             f"{pipe.cache.path} - rerun the same command to resume\n")
        raise
    score = _score(states, spec, len(records))
    _join_records(records, score.records)
    if skipped:
        score.notes.append(f"{len(skipped)} sample(s) skipped ({spec.on_error}): see 'skipped'")
    if unreadable:
        score.notes.append(f"{len(unreadable)} sample(s) could not be read and were left out (first: "
                           f"{unreadable[0].reason}): see 'skipped'")
        skipped = unreadable + skipped
    if timings or not stored:
        latency = summarize(timings, warmup_batches=spec.warmup_batches, t_start=t_start, cached_samples=n_cached,
                            images=task.type in IMAGE_TYPES)
    else:
        latency = summarize(_stored_batches(stored), warmup_batches=spec.warmup_batches,
                            cached_samples=n_cached, from_cache=True)
    return CellResult(cell, score, latency, records, n_cached, n_computed, skipped, states)


def _score(states: list[Any], spec: RunSpec, n: int) -> ScoreResult:
    """Compute every metric and fold them into one result (metric names must not collide)."""
    if n == 0:
        return ScoreResult("none", {}, notes=["no sample was scored"])
    parts = [m.compute(bootstrap=spec.bootstrap, seed=spec.seed, ci=spec.ci) for m in states]
    if len(parts) == 1:
        return parts[0]
    out = ScoreResult("+".join(p.kind for p in parts), {})
    by_id: dict[str, dict[str, Any]] = {}
    fields: set[str] = {"sample_id"}
    for p in parts:
        # a name an earlier metric already uses gets this metric's kind as prefix (CER's ``hits`` is
        # ``cer_hits`` beside WER's ``hits``), in the headline values and the per-sample records alike
        out.metrics.update({unclash(p.kind, k, out.metrics): v for k, v in p.metrics.items()})
        out.groups.update(p.groups)
        out.info[p.kind] = p.info
        out.notes += p.notes
        rename = {k: unclash(p.kind, k, fields) for r in p.records for k in r if k != "sample_id"}
        for r in p.records:
            by_id.setdefault(str(r.get("sample_id")), {"sample_id": r.get("sample_id")}).update(
                {rename.get(k, k): v for k, v in r.items() if k != "sample_id"})
        fields |= set(rename.values())
    out.records = list(by_id.values())
    return out


def _end_to_end(out: Outcome) -> dict[int, float]:
    """Position in the outcome -> end-to-end seconds of the samples computed now."""
    if out.timing is None:
        return {}
    ps = out.timing.per_sample()
    computed = [j for j, c in enumerate(out.cached) if not c]
    return {j: float(sum(ps[s][k] for s in ps)) for k, j in enumerate(computed[: out.timing.n])}


def _stored_batches(rows: list[dict[str, float]]) -> list[BatchTiming]:
    """Stage timings kept in the cache, regrouped by the batch that computed them."""
    from gapbench.latency.stages import STAGES

    groups: dict[int, list[dict[str, float]]] = {}
    for r in rows:
        groups.setdefault(int(r.get("batch", 0)), []).append(r)
    out = []
    for b in sorted(groups):
        g = groups[b]
        stages = {s: [float(r.get(s, 0.0)) for r in g] for s in STAGES}
        out.append(BatchTiming.of(b, len(g), 0.0, stages, {}))
    return out


def _join_records(records: list[SampleRecord], metric_records: list[dict[str, Any]]) -> None:
    """Fold the metrics' per-sample rows into the runner's, by ``sample_id``."""
    by_id = {str(r["sample_id"]): r for r in metric_records if "sample_id" in r}
    for rec in records:
        extra = by_id.get(rec.sample_id)
        if extra:
            for k, v in extra.items():
                if k != "sample_id":
                    rec.values.setdefault(k, v)


# ---- conveniences ---------------------------------------------------------------------------


def run_task(
    task: str | TaskSpec,
    model: ModelAdapter | Callable[[list[Any]], Any] | str | None = None,
    *,
    cache: Any = None,
    metric: Any = None,
    show_progress: bool = True,
    **spec_fields: Any,
) -> RunOutcome:
    """:func:`run` with the spec given as keywords (``limit=``, ``seed=``, ``cells=``...).

    ``metric``: a Metric instance instead of the task's metrics (the clean cell updates it; every
    other cell a fresh copy).
    """
    from gapbench.core.task import register_task

    name = task
    if isinstance(task, TaskSpec):
        register_task(task, overwrite=True)
        name = task.name
    uri = model if isinstance(model, str) else None
    spec = RunSpec(task=str(name), model=uri, **spec_fields)
    factory = None
    if metric is not None:
        pristine, handed = copy.deepcopy(metric), []

        def factory() -> list[Any]:
            handed.append(1)
            return [metric if len(handed) == 1 else copy.deepcopy(pristine)]
    return run(spec, None if isinstance(model, str) else model, cache=cache, metrics=factory,
               show_progress=show_progress)


def run_and_save(
    spec: RunSpec,
    model: ModelAdapter | Callable[[list[Any]], Any] | None = None,
    *,
    store_url: str | None = None,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    show_progress: bool = True,
) -> tuple[RunOutcome, Path]:
    """What ``gapbench run`` does: run (cache in ``<out_dir>/cache`` unless the spec names one),
    add provenance, write ``<out_dir>/<run_id>.json``, then save run + records to the store.

    The JSON file is written before the store is touched, so a store failure loses nothing: the
    store's error (:class:`~gapbench.store.StoreError`) carries the JSON path.
    """
    from gapbench.core.provenance import collect_provenance, new_run_id

    out = Path(out_dir)
    if spec.use_cache and spec.cache is None:
        spec = replace(spec, cache=str(default_cache_dir(out)))
    outcome = run(spec, model, show_progress=show_progress)
    doc = outcome.document
    doc.run_id = new_run_id()
    doc.provenance = collect_provenance(seed=spec.seed, config=spec.to_json(),
                                        model_fingerprint=outcome.model_fingerprint)
    json_path = write_document(doc.to_json(), out / f"{doc.run_id}.json")
    write_records(outcome.records, out / f"{doc.run_id}.records.jsonl")
    from gapbench.runner.coco_export import write_coco_files

    outcome.coco_files = write_coco_files(outcome.cells, out / f"{doc.run_id}.coco")
    save_to_store(doc, outcome.records, store_url, json_path)
    return outcome, json_path


def write_document(payload: dict[str, Any], path: Path) -> Path:
    """Write a JSON document; an unwritable place is one InputError naming it."""
    from gapbench.errors import InputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")
    except OSError as exc:
        raise InputError(str(path), None, "a writable file", exc.strerror or str(exc)) from None
    return path


def write_records(records: list[SampleRecord], path: Path) -> Path:
    """The per-sample records beside the run's JSON (``compare runs`` reads them from a path)."""
    from gapbench.errors import InputError
    from gapbench.store.codec import dumps  # NaN -> null, as the store writes records

    try:
        with path.open("w") as f:
            for r in records:
                f.write(dumps(r.to_json()) + "\n")
    except OSError as exc:
        raise InputError(str(path), None, "a writable file", exc.strerror or str(exc)) from None
    return path


def save_to_store(doc: RunDocument, records: list[SampleRecord], store_url: str | None,
                  json_path: Path | None) -> str:
    """Save a run; a store failure says what failed and where the JSON already is."""
    from gapbench.store import StoreError, save_run

    try:
        return save_run(doc, records, store_url)
    except StoreError as exc:
        if json_path is not None:
            raise StoreError(f"{exc}; the run's JSON was written to {json_path}") from exc
        raise
