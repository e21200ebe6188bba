"""MLPerf LoadGen scenarios on the whole gapbench pipeline (shift, preprocess, predict, postprocess,
validation, extraction), never the forward pass alone.

The system under test is a :class:`~gapbench.runner.pipeline.Pipeline` built with ``cache=None``:
every query calls the model, nothing is read from or written to the response cache. Samples are
loaded once before the run into a pool (LoadGen's "performance sample set", ``LoadSamplesToRam``);
their decode time is measured then and reported as the ``decode`` stage, outside end-to-end.

* ``single-stream``: one sample per query, closed loop, inline (no prefetch threads). Metric: p90.
* ``multi-stream``: ``samples_per_query`` samples per query (one model batch), closed loop -- the
  LoadGen >= v2.0 rule (the next query when the previous completes, no fixed interval). Metric: p99.
* ``server``: one sample per query, Poisson arrivals at ``qps`` (seeded), open loop; valid iff
  p99 <= ``latency_bound_ms``. ``find_max_qps`` searches the highest valid QPS. ``sut="process"``
  serves in forked children (one per worker) so a model holding the GIL cannot delay the issuer
  (:mod:`gapbench.latency.process_sut`); ``switch_interval_ms`` lowers the interpreter's GIL switch
  interval for the run instead (restored after).
* ``offline``: every sample at once, served in batches of each size in ``batch_sizes``; samples/s.

Every closed/open-loop run lasts at least ``min_duration_s`` and ``min_queries``; the first
``warmup_queries`` queries (closed loop) run before and are excluded from every figure.
"""
from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gapbench.core.sample import Sample
from gapbench.errors import InputError
from gapbench.latency.hardware import HardwareProbe
from gapbench.latency.loadgen import LoadResult, QueryRecord, closed_loop, now_ns, open_loop, poisson_schedule
from gapbench.latency.report import scenario_block
from gapbench.latency.stages import STAGES
from gapbench.latency.stats import IMAGE_TYPES
from gapbench.models.base import ModelAdapter
from gapbench.runner.pipeline import Pipeline

SCENARIOS = ("single-stream", "multi-stream", "server", "offline")
TARGET_PERCENTILE = {"single-stream": 90.0, "multi-stream": 99.0, "server": 99.0, "offline": 99.0}
SUT_KINDS = ("thread", "process")
# issue times later than this (p99) mean the issuer waited for the GIL (issue 10's 1 ms target)
ISSUE_DELAY_LIMIT_MS = 1.0


@dataclass(frozen=True)
class ScenarioSettings:
    """What a scenario run is asked to do; :meth:`check` says in one line what is wrong."""

    scenario: str = "single-stream"
    min_queries: int = 100
    min_duration_s: float = 1.0
    samples_per_query: int = 8
    qps: float | None = None
    latency_bound_ms: float | None = None
    find_max_qps: bool = False
    qps_resolution: float = 0.02
    batch_sizes: tuple[int, ...] = (1,)
    workers: int = 1
    warmup_queries: int = 10
    seed: int = 0
    early_stopping: bool = True  # a run too short for LoadGen's early-stopping estimate is invalid
    sut: str = "thread"  # server: "thread" (workers in this process) or "process" (a child per worker)
    switch_interval_ms: float | None = None  # server: sys.setswitchinterval during the run (then restored;
    # with sut="process", in the children)

    def check(self) -> ScenarioSettings:
        def bad(opt: str, expected: str, got: Any) -> InputError:
            return InputError(None, opt, expected, got)

        if self.scenario not in SCENARIOS:
            raise bad("--scenario", f"one of {', '.join(SCENARIOS)}", self.scenario)
        if self.min_queries < 1:
            raise bad("--min-queries", "an integer >= 1", self.min_queries)
        if not (math.isfinite(self.min_duration_s) and self.min_duration_s >= 0):
            raise bad("--min-duration", "a finite number of seconds >= 0", self.min_duration_s)
        if self.samples_per_query < 1:
            raise bad("--samples-per-query", "an integer >= 1", self.samples_per_query)
        if self.qps is not None and not (math.isfinite(self.qps) and self.qps > 0):
            raise bad("--qps", "a finite number > 0", self.qps)
        if self.latency_bound_ms is not None and not (math.isfinite(self.latency_bound_ms)
                                                      and self.latency_bound_ms > 0):
            raise bad("--latency-bound", "a duration > 0 (200ms, 0.2s)", self.latency_bound_ms)
        if self.scenario == "server" and self.qps is None:
            raise bad("--qps", "a target QPS for the server scenario (the start point with --find-max-qps)", None)
        if self.find_max_qps and (self.scenario != "server" or self.latency_bound_ms is None):
            raise bad("--find-max-qps", "--scenario server with --latency-bound", self.scenario)
        if not (0 < self.qps_resolution < 1):
            raise bad("qps_resolution", "a fraction in (0, 1)", self.qps_resolution)
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise bad("--batch-sizes", "comma-separated integers >= 1", list(self.batch_sizes))
        if self.workers < 1:
            raise bad("--workers", "an integer >= 1", self.workers)
        if self.warmup_queries < 0:
            raise bad("--warmup-queries", "an integer >= 0", self.warmup_queries)
        if self.sut not in SUT_KINDS:
            raise bad("--sut", " or ".join(SUT_KINDS), self.sut)
        if (self.sut != "thread" or self.switch_interval_ms is not None) and self.scenario != "server":
            raise bad("--sut/--switch-interval", "--scenario server (the only scenario with a concurrent issuer)",
                      self.scenario)
        if self.switch_interval_ms is not None and not (math.isfinite(self.switch_interval_ms)
                                                        and self.switch_interval_ms > 0):
            raise bad("--switch-interval", "a number of milliseconds > 0", self.switch_interval_ms)
        return self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scenario": self.scenario, "min_queries": self.min_queries,
                               "min_duration_s": self.min_duration_s, "warmup_queries": self.warmup_queries,
                               "seed": self.seed, "early_stopping": self.early_stopping}
        if self.scenario == "multi-stream":
            out["samples_per_query"] = self.samples_per_query
        if self.scenario == "server":
            out.update(qps=self.qps, latency_bound_ms=self.latency_bound_ms, workers=self.workers,
                       find_max_qps=self.find_max_qps, qps_resolution=self.qps_resolution, sut=self.sut,
                       switch_interval_ms=self.switch_interval_ms)
        if self.scenario == "offline":
            out["batch_sizes"] = list(self.batch_sizes)
        return out


# ---- streaming: time to first result ----------------------------------------------------------


def stream_function(adapter: ModelAdapter) -> Callable[[list[Any]], Iterable[Any]] | None:
    """The adapter's streaming predict, if it has one.

    The hook: ``predict_stream(batch)`` yields, as results arrive, the raw outputs so far (a list,
    one per input, each a partial output); the last item yielded is the final ``predict`` output.
    An adapter class defines it as a method; a ``python:`` callable carries it as an attribute
    (``fn.predict_stream = gen``).
    """
    fn = getattr(adapter, "predict_stream", None)
    if fn is None:
        fn = getattr(getattr(adapter, "fn", None), "predict_stream", None)
    return fn if callable(fn) else None


class StreamingView(ModelAdapter):
    """An adapter whose ``predict`` consumes the inner adapter's ``predict_stream`` and notes (per
    thread) when the first partial result came; everything else is the inner adapter's."""

    def __init__(self, inner: ModelAdapter, stream: Callable[[list[Any]], Iterable[Any]]) -> None:
        self.inner, self.stream = inner, stream
        self.name, self.task_types, self.deterministic = inner.name, inner.task_types, inner.deterministic
        self._local = threading.local()

    def for_task(self, task_type: str) -> ModelAdapter:
        return self

    def settings(self) -> dict[str, Any]:
        return self.inner.settings()

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        return self.inner.preprocess(input)

    def postprocess(self, raw: Any) -> Any:
        return self.inner.postprocess(raw)

    def predict(self, batch: list[Any]) -> Any:
        last: Any = None
        for item in self.stream(batch):
            if self._local.__dict__.get("first_ns") is None:
                self._local.first_ns = now_ns()
            last = item
        return last

    def take_first_ns(self) -> int | None:
        """When this thread's last query got its first partial result (and forget it)."""
        return self._local.__dict__.pop("first_ns", None)


# ---- the system under test ---------------------------------------------------------------------


class SystemUnderTest:
    """A model serving a task through the pipeline, with no response cache; ``serve`` is LoadGen's
    ``IssueQuery`` + ``QuerySamplesComplete`` for one query (one model batch)."""

    def __init__(self, adapter: ModelAdapter, task_type: str, *, extract: Callable[[str], Any] | None = None,
                 num_classes: int | None = None) -> None:
        bound = adapter.for_task(task_type)
        stream = stream_function(bound)
        self.view = StreamingView(bound, stream) if stream is not None else None
        self.pipe = Pipeline(self.view or bound, task_type, cache=None, extract=extract,
                             num_classes=num_classes, on_error="skip")
        self.task_type = task_type
        self.served: list[int] = []  # samples per served query (list.append is atomic across workers)

    def serve(self, samples: Sequence[Sample], rec: QueryRecord) -> None:
        """Run one query through the pipeline; fill the record's completion time, stages, first result
        and error.

        The query completes when the pipeline's last validated prediction exists (``BatchTiming.t_done``,
        stamped right after postprocess and validation, on the ``perf_counter`` clock): the stage
        arrays and the record's bookkeeping that follow are not part of its latency.
        """
        out = self.pipe.process(samples)
        if out.timing is not None:
            rec.done_ns = round(out.timing.t_done * 1e9)
        rec.outcome = out
        self.served.append(len(samples))
        if self.view is not None:
            rec.first_ns = self.view.take_first_ns()
        if out.skipped:
            rec.error = out.skipped[0].reason
        if out.timing is not None:
            ps = out.timing.per_sample()
            rec.stages = {s: float(ps[s].sum()) for s in STAGES if s != "decode"}
            rec.durations = list(out.timing.durations)


def load_pool(samples: Iterable[Sample]) -> tuple[list[Sample], list[float]]:
    """Materialise the samples (LoadGen's LoadSamplesToRam), timing each one's decode."""
    pool: list[Sample] = []
    decode: list[float] = []
    it = iter(samples)
    while True:
        t0 = time.perf_counter()
        s = next(it, None)
        if s is None:
            break
        decode.append(time.perf_counter() - t0)
        pool.append(s)
    if not pool:
        raise InputError(None, "dataset", "at least one sample", "none")
    return pool, decode


def make_queries(pool: Sequence[Sample], per_query: int) -> list[list[Sample]]:
    """``len(pool)`` queries of ``per_query`` consecutive samples (cycling through the pool)."""
    n = len(pool)
    return [[pool[(i * per_query + j) % n] for j in range(per_query)] for i in range(n)]


@dataclass
class ScenarioRun:
    """The block of a scenario run (:mod:`gapbench.latency.report`) and its raw query records."""

    block: dict[str, Any]
    load: LoadResult | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)  # per-sample rows (SampleRecord) once scored


def run_scenario(sut: SystemUnderTest, pool: Sequence[Sample], settings: ScenarioSettings, *,
                 decode_s: Sequence[float] = (), after: Callable[[QueryRecord], None] | None = None,
                 probe: HardwareProbe | None = None) -> ScenarioRun:
    """Warm up, then run ``settings.scenario`` on the pool; one validated block.

    ``probe`` (energy, GPU memory) is read after the warm-up and after the last measured query; its
    figures go in the block's ``hardware`` entry, energy divided by every query served in between
    (all the steps of a sweep or a QPS search).
    """
    settings.check()
    sc = settings.scenario
    per_query = settings.samples_per_query if sc == "multi-stream" else 1
    queries = make_queries(pool, per_query)
    warm = closed_loop(sut.serve, queries, min_queries=settings.warmup_queries) if settings.warmup_queries else None
    image = sut.task_type in IMAGE_TYPES
    probe = probe if probe is not None else HardwareProbe()
    probe.start()
    served_before = len(sut.served)
    if sc == "offline":
        run = _offline(sut, pool, settings, decode_s, image)
    elif sc == "server" and settings.find_max_qps:
        run = _find_max_qps(sut, queries, settings, decode_s, image)
    else:
        if sc == "server":
            load = _server_load(sut, queries, settings, settings.qps or 0.0)
        else:
            load = closed_loop(sut.serve, queries, min_queries=settings.min_queries,
                               min_duration_s=settings.min_duration_s, after=after)
        run = ScenarioRun(scenario_block(sc, settings.to_json(), load, sample_decode_s=decode_s,
                                         target_percentile=TARGET_PERCENTILE[sc], image_task=image), load)
    reading = probe.stop()
    served = sut.served[served_before:]
    run.block["hardware"] = reading.block(len(served), sum(served))
    run.block["warmup_queries"] = len(warm.records) if warm else 0
    run.block["warmup_s"] = warm.duration_s if warm else 0.0
    if sut.view is None:
        run.block["notes"].append("the model does not stream: no time to first result")
    return run


def abort_after_s(settings: ScenarioSettings) -> float:
    """How long a query may wait in the server's queue before the run counts as overloaded:
    10 x the latency bound, at least 1 s (10 s without a bound)."""
    if settings.latency_bound_ms is None:
        return 10.0
    return max(1.0, 10 * settings.latency_bound_ms / 1e3)


@contextlib.contextmanager
def switch_interval(ms: float | None) -> Iterator[None]:
    """``sys.setswitchinterval(ms / 1000)`` inside the block (nothing when None), restored after.

    A thread waiting for the GIL asks the holder to drop it after this interval; a shorter one lets
    the issuer stamp a query sooner while a GIL-holding model runs, at the price of more forced
    switches in the model's own computation (``benchmarks/latency_fidelity.py`` measures both)."""
    if ms is None:
        yield
        return
    old = sys.getswitchinterval()
    sys.setswitchinterval(ms / 1e3)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _server_load(sut: SystemUnderTest, queries: Sequence[Sequence[Sample]], settings: ScenarioSettings,
                 qps: float) -> LoadResult:
    n = max(settings.min_queries, math.ceil(qps * settings.min_duration_s))
    schedule = poisson_schedule(qps, n, settings.seed)
    if settings.sut == "process":
        from gapbench.latency.process_sut import open_loop_process

        si = None if settings.switch_interval_ms is None else settings.switch_interval_ms / 1e3
        return open_loop_process(sut, queries, schedule, workers=settings.workers,
                                 abort_after_s=abort_after_s(settings), switch_interval_s=si)
    with switch_interval(settings.switch_interval_ms):
        load = open_loop(sut.serve, queries, schedule, workers=settings.workers,
                         abort_after_s=abort_after_s(settings))
    delays = [r.issue_delay_s for r in load.records]
    if delays and float(np.percentile(delays, 99)) * 1e3 > ISSUE_DELAY_LIMIT_MS:
        load.notes.append(f"queries were issued late (p99 {float(np.percentile(delays, 99)) * 1e3:.2f} ms after "
                          "their schedule): the issuer waited for the GIL, held by the model or by this machine's "
                          "load; --sut process serves in a separate process")
    return load


def find_max_qps(valid_at: Callable[[float], bool], start: float, resolution: float = 0.02,
                 max_steps: int = 40) -> tuple[float | None, list[tuple[float, bool]]]:
    """The highest QPS at which ``valid_at`` holds, to ``resolution`` (relative), by binary search.

    From ``start``: double while valid (or halve while invalid) to bracket the edge, then bisect
    until ``(hi - lo) / lo <= resolution``. Returns ``(lo, steps)``; ``lo`` None when no tried QPS
    was valid. Assumes validity is monotone in QPS (true of a queue: more load, longer waits).
    """
    steps: list[tuple[float, bool]] = []

    def test(q: float) -> bool:
        ok = valid_at(q)
        steps.append((q, ok))
        return ok

    lo: float | None = None
    hi: float | None = None
    q = start
    while (lo is None or hi is None) and len(steps) < max_steps:
        if test(q):
            lo = q
            q *= 2
        else:
            hi = q
            q /= 2
        if hi is not None and lo is None and q < start / 1024:
            return None, steps
    while lo is not None and hi is not None and (hi - lo) / lo > resolution and len(steps) < max_steps:
        mid = (lo + hi) / 2
        if test(mid):
            lo = mid
        else:
            hi = mid
    return lo, steps


def _find_max_qps(sut: SystemUnderTest, queries: Sequence[Sequence[Sample]], settings: ScenarioSettings,
                  decode_s: Sequence[float], image: bool) -> ScenarioRun:
    blocks: dict[float, dict[str, Any]] = {}
    loads: dict[float, LoadResult] = {}

    def valid_at(q: float) -> bool:
        load = _server_load(sut, queries, settings, q)
        b = scenario_block("server", replace(settings, qps=q).to_json(), load, sample_decode_s=decode_s,
                           target_percentile=99.0, image_task=image)
        blocks[q], loads[q] = b, load
        return bool(b["valid"])

    best, steps = find_max_qps(valid_at, settings.qps or 1.0, settings.qps_resolution)
    pick = best if best is not None else steps[-1][0]
    block = blocks[pick]
    block["max_qps"] = best
    block["sweep"] = [{"qps": q, "valid": ok, "p99_ms": blocks[q]["end_to_end"]["p99_ms"],
                       "queries": blocks[q]["queries"], "unfinished": blocks[q]["unfinished"]} for q, ok in steps]
    if best is None:
        block["notes"].append("no tried QPS met the latency bound")
    return ScenarioRun(block, loads[pick], block["sweep"])


def _offline(sut: SystemUnderTest, pool: Sequence[Sample], settings: ScenarioSettings,
             decode_s: Sequence[float], image: bool) -> ScenarioRun:
    """Every batch size: the samples (at least ``min_queries`` of them, cycling the pool, and at
    least ``min_duration_s``) served back to back in batches; one record per batch."""
    sweep: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any], LoadResult] | None = None
    n_target = max(settings.min_queries, len(pool))
    for bs in settings.batch_sizes:
        batches = make_queries(pool, bs)
        n_batches = math.ceil(n_target / bs)
        load = closed_loop(sut.serve, batches, min_queries=n_batches, min_duration_s=settings.min_duration_s)
        b = scenario_block("offline", {**settings.to_json(), "batch_size": bs}, load, sample_decode_s=decode_s,
                           target_percentile=99.0, image_task=image)
        sps = b["throughput"]["samples_per_s"] or 0.0
        sweep.append({"batch_size": bs, "samples_per_s": sps, "batch_p50_ms": b["end_to_end"]["p50_ms"],
                      "batch_p99_ms": b["end_to_end"]["p99_ms"], "samples": b["samples"], "valid": b["valid"]})
        if best is None or sps > best[0]:
            best = (sps, b, load)
    assert best is not None
    block = best[1]
    block["sweep"] = sweep
    block["notes"].append(f"end_to_end is per batch; the figures shown are those of batch size "
                          f"{block['settings']['batch_size']}, the fastest of the sweep")
    return ScenarioRun(block, best[2], sweep)


__all__ = ["SCENARIOS", "SUT_KINDS", "ScenarioRun", "ScenarioSettings", "StreamingView", "SystemUnderTest",
           "abort_after_s", "find_max_qps", "load_pool", "make_queries", "run_scenario", "stream_function",
           "switch_interval"]
