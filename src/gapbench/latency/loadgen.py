"""The load generator: the clock, the seeded Poisson schedule, and the two ways of issuing queries.

Semantics follow MLPerf Inference LoadGen (mlcommons/inference, ``loadgen/``; the rules are in
``inference_rules.adoc``, "Scenarios"):

* **Closed loop** (SingleStream, MultiStream >= v2.0): the next query is issued when the previous
  one completed. Latency = completion - issue.
* **Open loop** (Server): query ``i`` is *scheduled* at ``t0 + a_i`` where the inter-arrival gaps
  ``a_i - a_{i-1}`` are i.i.d. exponential with mean ``1/QPS`` (a Poisson process) drawn from a
  seeded generator, and it is issued at its scheduled time whether or not earlier queries have
  finished -- the issuer never waits for the system, so a slow system cannot slow the load down
  (no *coordinated omission*, Tene, "How NOT to measure latency"). Latency is measured from the
  *scheduled* time, as LoadGen does, so it includes queueing and any lateness of the issuer.

The clock is :func:`time.perf_counter_ns` (monotonic, the highest resolution Python has). Nothing
inside the timed region logs, prints or allocates more than the record of the query.
"""
from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapbench.core.gc_control import collect_if_due, quiet_gc

now_ns = time.perf_counter_ns
# Sleep until this close to the deadline, then spin (time.sleep overshoots ~0.05-0.1 ms). Only where the
# issuer can have a core of its own: on a 2-CPU machine the spin took the CPU from the threads serving
# queries and raised the server scenario's p50 by ~1 ms (measured, 2 ms model at 200 QPS).
SPIN_NS = 1_000_000 if (os.cpu_count() or 1) >= 4 else 0


def wait_until(deadline_ns: int) -> int:
    """Block until ``perf_counter_ns() >= deadline_ns``; returns the time actually reached.

    ``time.sleep`` alone wakes late by up to a scheduler tick, so the last ``SPIN_NS`` are a busy
    wait: the issue times then track the schedule to a few microseconds instead of ~0.1 ms. The spin
    calls ``time.sleep(0)``, which releases the GIL, so the threads serving queries keep running.
    """
    while True:
        t = now_ns()
        left = deadline_ns - t
        if left <= 0:
            return t
        time.sleep((left - SPIN_NS) / 1e9 if left > SPIN_NS else 0)


def poisson_schedule(qps: float, n: int, seed: int) -> np.ndarray:
    """Seconds after the start at which each of ``n`` queries is scheduled: a Poisson process.

    Gaps are ``numpy.random.default_rng(seed).exponential(1/qps, n)``; the first query comes one gap
    after the start (as in LoadGen, whose first query is also drawn from the distribution).
    """
    if not (math.isfinite(qps) and qps > 0):
        raise ValueError(f"qps must be a finite number > 0, got {qps!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    gaps = np.random.default_rng(seed).exponential(1.0 / qps, size=n)
    return np.cumsum(gaps)


@dataclass
class QueryRecord:
    """One query's timeline (nanoseconds on the perf_counter clock) and what came back.

    ``scheduled_ns``: when the load generator meant to issue it (= ``issued_ns`` in a closed loop);
    ``issued_ns``: when it was handed to the system; ``started_ns``: when a worker began it;
    ``done_ns``: when its last result was ready; ``first_ns``: when its first (streamed) result was.
    """

    index: int
    n: int
    scheduled_ns: int
    issued_ns: int = 0
    started_ns: int = 0
    done_ns: int = 0
    first_ns: int | None = None
    stages: dict[str, float] = field(default_factory=dict)  # seconds this query spent per stage
    durations: list[float | None] = field(default_factory=list)  # media seconds of its samples
    error: str | None = None
    completed: bool = False
    outcome: Any = None  # the pipeline's Outcome (predictions, references), scored after the run

    @property
    def latency_s(self) -> float:
        return (self.done_ns - self.scheduled_ns) / 1e9

    @property
    def issue_delay_s(self) -> float:
        return (self.issued_ns - self.scheduled_ns) / 1e9

    @property
    def queue_s(self) -> float:
        return (self.started_ns - self.scheduled_ns) / 1e9


# what the system under test does with one query: fill the record's stages/first_ns/error
Serve = Callable[[Sequence[Any], QueryRecord], None]


@dataclass
class LoadResult:
    """The queries of one scenario run, in issue order, and how the run ended."""

    records: list[QueryRecord]
    start_ns: int
    end_ns: int
    interrupted: bool = False
    overloaded: bool = False  # the open loop gave up: queries waited longer than the abort limit
    unfinished: int = 0  # queries issued (or scheduled) that never ran
    notes: list[str] = field(default_factory=list)  # what the report must say about how the run went

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def closed_loop(serve: Serve, queries: Sequence[Sequence[Any]], *, min_queries: int | None = None,
                min_duration_s: float = 0.0, after: Callable[[QueryRecord], None] | None = None) -> LoadResult:
    """Issue ``queries`` one at a time (cycling) until ``min_queries`` (default: each once) ran and
    ``min_duration_s`` passed.

    The timed region of a query is ``serve`` alone: its record is built before the issue stamp, and
    the completion stamp is the one ``serve`` sets in ``record.done_ns`` when its result is ready
    (LoadGen's ``QuerySamplesComplete``; the system's bookkeeping after that is not the query's
    latency), else the time ``serve`` returned. ``after(record)`` (e.g. a progress bar) and garbage
    collection (:func:`quiet_gc`) run between queries, outside the timed region.
    """
    records: list[QueryRecord] = []
    start = now_ns()
    min_end = start + int(min_duration_s * 1e9)
    interrupted = False
    n_min = len(queries) if min_queries is None else min_queries
    i = 0
    with quiet_gc(collect_between=True):
        try:
            while i < n_min or now_ns() < min_end:
                q = queries[i % len(queries)]
                rec = QueryRecord(i, len(q), 0)
                t = now_ns()
                rec.scheduled_ns = rec.issued_ns = rec.started_ns = t
                serve(q, rec)
                t = now_ns()
                if not rec.done_ns:
                    rec.done_ns = t
                rec.completed = True
                records.append(rec)
                if after is not None:
                    after(rec)
                i += 1
                collect_if_due()
        except KeyboardInterrupt:
            interrupted = True
    return LoadResult(records, start, now_ns(), interrupted=interrupted)


def open_loop(serve: Serve, queries: Sequence[Sequence[Any]], schedule_s: np.ndarray, *, workers: int = 1,
              abort_after_s: float | None = None) -> LoadResult:
    """Issue query ``i % len(queries)`` at ``start + schedule_s[i]``, whatever the system is doing.

    The issuer (this thread) only stamps the time and enqueues; ``workers`` threads serve the queue
    (the system under test's own concurrency). The issuer needs the GIL to stamp a query: a model
    that holds it delays the issue by up to the interpreter's switch interval (5 ms by default). The
    scenario can lower the interval for the run (``--switch-interval``; one worker: no measurable
    cost to the service time; two GIL-holding workers: service p99 +25%) or serve in a separate
    process (``--sut process``, :mod:`gapbench.latency.process_sut`); the fidelity benchmark
    measures both. When a query has waited more
    than ``abort_after_s`` since its scheduled time before a worker picks it up, the run is
    *overloaded*: issuing stops and the remaining queries are counted as unfinished rather than waited
    for (a QPS the machine cannot sustain ends in bounded time and is reported as such).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    inbox: queue.SimpleQueue[QueryRecord | None] = queue.SimpleQueue()
    stop = threading.Event()
    abort_ns = None if abort_after_s is None else int(abort_after_s * 1e9)
    records: list[QueryRecord] = []

    def work(w: int) -> None:
        while True:
            rec = inbox.get()
            if rec is None:
                return
            rec.started_ns = now_ns()
            if stop.is_set() or (abort_ns is not None and rec.started_ns - rec.scheduled_ns > abort_ns):
                stop.set()
                continue
            try:
                serve(queries[rec.index % len(queries)], rec)
            except BaseException as exc:  # noqa: BLE001 - recorded as this query's failure
                rec.error = f"{type(exc).__name__}: {exc}"
            t = now_ns()
            if not rec.done_ns:
                rec.done_ns = t
            rec.completed = True

    return _issue(work, records, inbox, stop, queries, schedule_s, workers)


def _issue(work: Callable[[int], None], records: list[QueryRecord], inbox: queue.SimpleQueue[QueryRecord | None],
           stop: threading.Event, queries: Sequence[Sequence[Any]], schedule_s: np.ndarray,
           workers: int) -> LoadResult:
    threads = [threading.Thread(target=work, args=(w,), daemon=True, name=f"gapbench-sut-{w}")
               for w in range(workers)]
    for th in threads:
        th.start()
    start = now_ns()
    offsets = (np.asarray(schedule_s, dtype=float) * 1e9).astype(np.int64)
    interrupted = False
    try:
        for i, off in enumerate(offsets):
            if stop.is_set():
                break
            sched = start + int(off)
            issued = wait_until(sched)
            rec = QueryRecord(i, len(queries[i % len(queries)]), sched, issued)
            records.append(rec)
            inbox.put(rec)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    for _ in threads:
        inbox.put(None)
    try:
        for th in threads:
            th.join()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        for th in threads:
            th.join()
    end = max([r.done_ns for r in records if r.completed] + [now_ns()])
    unfinished = sum(1 for r in records if not r.completed) + (len(offsets) - len(records))
    return LoadResult(records, start, end, interrupted=interrupted, overloaded=stop.is_set() and not interrupted,
                      unfinished=unfinished)


__all__ = ["LoadResult", "QueryRecord", "Serve", "closed_loop", "collect_if_due", "now_ns", "open_loop",
           "poisson_schedule", "quiet_gc", "wait_until"]
