"""The server scenario with the system under test in a separate process (``--sut process``).

Why: in one interpreter the issuer thread needs the GIL to stamp and hand over each query. A model
that holds the GIL while it computes (a pure-Python loop, a C extension that does not release it)
keeps the issuer waiting until the interpreter forces a switch (``sys.getswitchinterval()``, 5 ms by
default), so queries are issued late and the open loop is no longer open: the load adapts to the
system, which is the coordinated omission the server scenario exists to avoid. With the model in a
child process, the issuer's interpreter only ever waits for the OS scheduler.

How: the child is forked from the process that loaded the model and ran the warm-up, so it inherits
the warm system under test and the sample pool (nothing is pickled on the way in). The parent stamps
``scheduled_ns``/``issued_ns`` and sends the query's index down a pipe; the child's ``workers``
threads serve it and stamp ``started_ns``/``done_ns``; a reader thread in the parent fills the
records from the results. Both ends read ``time.perf_counter_ns``, which on Linux is
``CLOCK_MONOTONIC``, one clock for every process of the machine.

Limits: needs the ``fork`` start method (Linux; macOS has it but Apple's libraries may not survive
it); a model that initialised CUDA in the parent cannot run in a forked child (use ``--sut thread``).
The child's peak memory is reported apart (``peak_rss_children_mb``, once it was joined).
"""
from __future__ import annotations

import gc
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from gapbench.errors import InputError
from gapbench.latency.loadgen import LoadResult, QueryRecord, collect_if_due, now_ns, wait_until


def process_sut_available() -> bool:
    """Whether this platform can fork a system under test."""
    return "fork" in multiprocessing.get_all_start_methods()


def _child(sut: Any, queries: Sequence[Sequence[Any]], requests: Any, results: Any, workers: int,
           abort_ns: int | None, halt: Any, switch_interval_s: float | None) -> None:
    """The child's loop: serve what arrives, send each query's record back; stop on ``None``.

    One worker: this thread reads a request, serves it, reads the next (requests wait in the pipe,
    needing no GIL). More: a reader thread feeds ``workers`` threads (which share this child's GIL).
    ``halt`` (set by the parent on Ctrl-C) makes the queries not yet started be skipped.
    ``switch_interval_s``: the child's GIL switch interval (how its workers take turns).
    """
    import queue
    import sys

    if switch_interval_s is not None:
        sys.setswitchinterval(switch_interval_s)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.freeze()  # what the fork inherited is never traversed again
    gc.disable()  # collections run between queries (collect_if_due), not inside one
    send_lock = threading.Lock()
    stop = threading.Event()

    def send(msg: Any) -> None:
        with send_lock:
            results.send(msg)

    def work(i: int, sched: int) -> None:
        rec = QueryRecord(i, len(queries[i % len(queries)]), sched)
        rec.started_ns = now_ns()
        if stop.is_set() or halt.is_set() or (abort_ns is not None and rec.started_ns - sched > abort_ns):
            stop.set()
            send((i, "aborted"))
            return
        try:
            sut.serve(queries[i % len(queries)], rec)
        except BaseException as exc:  # noqa: BLE001 - recorded as this query's failure
            rec.error = f"{type(exc).__name__}: {exc}"
        t = now_ns()
        out = rec.outcome
        if out is not None:  # the parent holds the samples: send their ids, not their inputs
            out = replace(out, samples=[s.id for s in out.samples], timing=None)
        send((i, (rec.started_ns, rec.done_ns or t, rec.first_ns, rec.stages, rec.durations, rec.error, out)))
        collect_if_due()

    def receive() -> tuple[int, int] | None:
        try:
            msg: tuple[int, int] | None = requests.recv()
        except EOFError:
            msg = None
        return msg

    send("ready")
    if workers == 1:
        while (msg := receive()) is not None:
            work(*msg)
        send(None)
        return
    inbox: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()

    def worker() -> None:
        while (item := inbox.get()) is not None:
            work(*item)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for th in threads:
        th.start()
    while (msg := receive()) is not None:
        inbox.put(msg)
    for _ in threads:
        inbox.put(None)
    for th in threads:
        th.join()
    send(None)


def open_loop_process(sut: Any, queries: Sequence[Sequence[Any]], schedule_s: np.ndarray, *, workers: int = 1,
                      abort_after_s: float | None = None, switch_interval_s: float | None = None) -> LoadResult:
    """:func:`gapbench.latency.loadgen.open_loop` with ``sut.serve`` running in a forked child.

    Same records, same overload rule (the child refuses queries that waited longer than
    ``abort_after_s`` and the parent stops issuing), same Ctrl-C behaviour (what completed is kept).
    A child that dies leaves its queries unfinished and says so in the result's notes.
    ``switch_interval_s`` is set in the child (it matters there only with ``workers > 1``).
    """
    if not process_sut_available():
        raise InputError(None, "--sut", "thread (this platform cannot fork a system under test)", "process")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    ctx = multiprocessing.get_context("fork")
    req_r, req_w = ctx.Pipe(duplex=False)
    res_r, res_w = ctx.Pipe(duplex=False)
    abort_ns = None if abort_after_s is None else int(abort_after_s * 1e9)
    halt = ctx.Event()
    proc = ctx.Process(target=_child, args=(sut, queries, req_r, res_w, workers, abort_ns, halt, switch_interval_s),
                       daemon=True, name="gapbench-sut")
    proc.start()
    req_r.close()
    res_w.close()
    records: list[QueryRecord] = []
    stop = threading.Event()
    notes: list[str] = []
    try:
        ready = res_r.poll(60) and res_r.recv() == "ready"
    except (EOFError, OSError):
        ready = False
    if not ready:
        proc.kill()
        raise RuntimeError(f"the system-under-test process did not start (exit code {proc.exitcode})")

    def read() -> None:
        by_sample: dict[int, dict[str, Any]] = {}
        while True:
            try:
                msg = res_r.recv()
            except Exception:  # noqa: BLE001 - EOF, a broken pipe, a message cut short by the child's death
                notes.append(f"the system-under-test process ended early (exit code {proc.exitcode}); "
                             "its queries in flight are unfinished")
                stop.set()
                return
            if msg is None:
                return
            i, body = msg
            rec = records[i]
            if body == "aborted":
                stop.set()
                continue
            rec.started_ns, rec.done_ns, rec.first_ns, rec.stages, rec.durations, rec.error, out = body
            if out is not None:
                q = queries[i % len(queries)]
                ids = by_sample.setdefault(i % len(queries), {s.id: s for s in q})
                out = replace(out, samples=[ids[s] for s in out.samples])
            rec.outcome = out
            rec.completed = True
            sut.served.append(rec.n)

    reader = threading.Thread(target=read, daemon=True, name="gapbench-sut-results")
    reader.start()
    start = now_ns()
    offsets = (np.asarray(schedule_s, dtype=float) * 1e9).astype(np.int64)
    interrupted = False
    try:
        for i, off in enumerate(offsets):
            if stop.is_set():
                break
            sched = start + int(off)
            rec = QueryRecord(i, len(queries[i % len(queries)]), sched)
            records.append(rec)  # before the send: the reader may get the result first
            rec.issued_ns = wait_until(sched)
            try:
                req_w.send((i, sched))
            except OSError:  # the child is gone (the reader notes why): this query never ran
                break
    except KeyboardInterrupt:
        interrupted = True
        if records and not records[-1].issued_ns:
            records.pop()  # stamped but never sent
    except BaseException:
        proc.kill()
        raise
    if interrupted:
        halt.set()
    interrupted = _finish(proc, req_w, reader, halt)
    end = max([r.done_ns for r in records if r.completed] + [now_ns()])
    unfinished = sum(1 for r in records if not r.completed) + (len(offsets) - len(records))
    return LoadResult(records, start, end, interrupted=interrupted,
                      overloaded=stop.is_set() and not interrupted and not notes, unfinished=unfinished,
                      notes=notes)


def _finish(proc: Any, req_w: Any, reader: threading.Thread, halt: Any) -> bool:
    """Tell the child to finish, wait for it and the reader; whether the run was interrupted (``halt``
    set by a Ctrl-C while issuing, or a Ctrl-C during this wait, which stops waiting for the queries
    in flight)."""
    try:
        req_w.send(None)
    except OSError:
        pass
    interrupted = halt.is_set()
    try:
        reader.join()
    except KeyboardInterrupt:
        interrupted = True
        proc.kill()
        reader.join(10)
    req_w.close()
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return interrupted


__all__ = ["open_loop_process", "process_sut_available"]
