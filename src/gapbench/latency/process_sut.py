"""The server scenario with the system under test in separate processes (``--sut process``).

Why: in one interpreter the issuer thread needs the GIL to stamp and hand over each query. A model
that holds the GIL while it computes (a pure-Python loop, a C extension that does not release it)
keeps the issuer waiting until the interpreter forces a switch (``sys.getswitchinterval()``, 5 ms by
default), so queries are issued late and the open loop is no longer open: the load adapts to the
system, which is the coordinated omission the server scenario exists to avoid. With the model in
child processes, the issuer's interpreter only ever waits for the OS scheduler. One child per worker
(not worker threads in one child): threads in one child share its GIL, so two GIL-holding workers
would serve one query at a time.

How: ``workers`` children are forked from the process that loaded the model and ran the warm-up, so
each inherits the warm system under test and the sample pool (nothing is pickled on the way in).
The parent stamps ``scheduled_ns``/``issued_ns`` and writes the query's index and schedule as one
16-byte message into ONE request pipe that every child reads (a shared queue: the first idle child
takes the oldest query, as the thread workers' queue does). Only the parent writes, every message
and every read is exactly 16 bytes (writes under ``PIPE_BUF`` are atomic, pipe(7)), and Linux copies
a read under the pipe's mutex (fs/pipe.c), so each read returns one whole message with no lock shared
between the children: a child that dies cannot leave the others blocked. The issuer's cost is
``struct.pack`` and one ``write`` (~1 us; ``Connection.send`` pickles, ~4x that), and it never waits
for a child unless the pipe already holds 65,536 unserved queries (1 MiB, ``F_SETPIPE_SZ``; 4,096
where the kernel refuses). Each child serves one query at a time in its main thread and stamps
``started_ns``/``done_ns``; it sends the record back on its own result pipe, and a reader thread in
the parent fills the records. Both ends read
``time.perf_counter_ns``, which on Linux is ``CLOCK_MONOTONIC``, one clock for every process.

Limits: needs the ``fork`` start method (Linux; macOS has it but Apple's libraries may not survive
it; POSIX promises the atomic writes, not the whole-message reads); a model that initialised CUDA in
the parent cannot run in a forked child (use ``--sut thread``). Each child holds its own
copy-on-write view of the model (memory written after the fork is per child). The children's peak
memory is reported apart (``peak_rss_children_mb``: the largest child's, once they were joined --
not their sum). A child that dies stops the issuing; the others finish the queries already issued.
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import struct
import threading
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.connection import wait as wait_for_conns
from typing import Any

import numpy as np

from gapbench.errors import InputError
from gapbench.latency.loadgen import LoadResult, QueryRecord, collect_if_due, now_ns, wait_until

_REQUEST = struct.Struct("<qq")  # (query index, scheduled_ns); index -1 = stop. 16 bytes < PIPE_BUF
_PIPE_BYTES = 1 << 20  # request pipe capacity asked for (Linux F_SETPIPE_SZ; the unprivileged default maximum)


def process_sut_available() -> bool:
    """Whether this platform can fork a system under test."""
    return "fork" in multiprocessing.get_all_start_methods()


def _child(sut: Any, queries: Sequence[Sequence[Any]], req_fd: int, req_w_fd: int, results: Any,
           abort_ns: int | None, halt: Any, switch_interval_s: float | None) -> None:
    """One child's loop: take a query from the shared request pipe, serve it in this thread, send its
    record back; stop on the stop message (or the pipe's end: the parent is gone).

    ``halt`` (set by the parent on Ctrl-C) makes the queries not yet started be skipped; a query that
    waited longer than ``abort_ns`` is refused, and so is every later one this child takes.
    ``switch_interval_s``: the child's GIL switch interval (with one thread it hardly matters).
    """
    import sys

    if switch_interval_s is not None:
        sys.setswitchinterval(switch_interval_s)
    os.close(req_w_fd)  # only the parent writes requests: its exit must end this child's reads
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.freeze()  # what the fork inherited is never traversed again
    gc.disable()  # collections run between queries (collect_if_due), not inside one
    stop = False
    results.send("ready")
    while len(msg := os.read(req_fd, _REQUEST.size)) == _REQUEST.size:
        i, sched = _REQUEST.unpack(msg)
        if i < 0:
            break
        rec = QueryRecord(i, len(queries[i % len(queries)]), sched)
        rec.started_ns = now_ns()
        if stop or halt.is_set() or (abort_ns is not None and rec.started_ns - sched > abort_ns):
            stop = True
            results.send((i, "aborted"))
            continue
        try:
            sut.serve(queries[i % len(queries)], rec)
        except BaseException as exc:  # noqa: BLE001 - recorded as this query's failure
            rec.error = f"{type(exc).__name__}: {exc}"
        t = now_ns()
        out = rec.outcome
        if out is not None:  # the parent holds the samples: send their ids, not their inputs
            out = replace(out, samples=[s.id for s in out.samples], timing=None)
        results.send((i, (rec.started_ns, rec.done_ns or t, rec.first_ns, rec.stages, rec.durations, rec.error, out)))
        collect_if_due()
    results.send(None)


def _start_children(ctx: Any, n: int, args: tuple[Any, ...], req_r: int, req_w: int) -> tuple[list[Any], list[Any]]:
    """Fork ``n`` children; their processes and the parent's ends of their result pipes, once every
    child said it is ready (else they are killed and ``RuntimeError`` says so)."""
    procs: list[Any] = []
    conns: list[Any] = []
    failed, why = False, ""
    try:
        for k in range(n):
            res_r, res_w = ctx.Pipe(duplex=False)
            conns.append(res_r)
            proc = ctx.Process(target=_child, args=(*args[:2], req_r, req_w, res_w, *args[2:]),
                               daemon=True, name=f"gapbench-sut-{k}")
            proc.start()
            res_w.close()  # before the next fork: a later child must not hold this child's write end
            procs.append(proc)
    except OSError as exc:  # fork refused (memory, process limit)
        failed, why = True, f": {exc}"
    os.close(req_r)
    pending, deadline = list(conns), now_ns() + 60 * 10**9
    while pending and not failed and (left := deadline - now_ns()) > 0:
        for conn in wait_for_conns(pending, left / 1e9):
            try:
                failed = conn.recv() != "ready"
            except (EOFError, OSError):
                failed = True  # this child died before its loop began
            if failed:
                break
            pending.remove(conn)
    if pending:
        codes = []
        for proc in procs:
            proc.kill()
            proc.join(5)
            codes.append(proc.exitcode)
        for conn in conns:
            conn.close()
        os.close(req_w)
        raise RuntimeError(f"a system-under-test process did not start (exit codes {codes}){why}")
    return procs, conns


def open_loop_process(sut: Any, queries: Sequence[Sequence[Any]], schedule_s: np.ndarray, *, workers: int = 1,
                      abort_after_s: float | None = None, switch_interval_s: float | None = None) -> LoadResult:
    """:func:`gapbench.latency.loadgen.open_loop` with ``sut.serve`` running in ``workers`` forked
    children (one query at a time each).

    Same records, same overload rule (a child refuses queries that waited longer than
    ``abort_after_s`` and the parent stops issuing), same Ctrl-C behaviour (what completed is kept).
    A child that dies leaves its query unfinished, stops the issuing, and says so in the result's notes.
    ``switch_interval_s`` is set in each child.
    """
    if not process_sut_available():
        raise InputError(None, "--sut", "thread (this platform cannot fork a system under test)", "process")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    ctx = multiprocessing.get_context("fork")
    req_r, req_w = os.pipe()
    with contextlib.suppress(ImportError, AttributeError, OSError):  # else the default 64 KiB (4,096 queries)
        import fcntl

        fcntl.fcntl(req_w, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)  # Linux; up to /proc/sys/fs/pipe-max-size
    abort_ns = None if abort_after_s is None else int(abort_after_s * 1e9)
    halt = ctx.Event()
    procs, conns = _start_children(ctx, workers, (sut, queries, abort_ns, halt, switch_interval_s), req_r, req_w)
    records: list[QueryRecord] = []
    stop = threading.Event()
    notes: list[str] = []

    def read() -> None:
        by_sample: dict[int, dict[str, Any]] = {}
        open_conns = dict(zip(conns, procs))
        while open_conns:
            for conn in wait_for_conns(list(open_conns)):
                try:
                    msg = conn.recv()
                except Exception:  # noqa: BLE001 - EOF, a broken pipe, a message cut short by the child's death
                    proc = open_conns.pop(conn)
                    proc.join(1)
                    notes.append(f"a system-under-test process ended early ({proc.name}, exit code "
                                 f"{proc.exitcode}); its query in flight is unfinished")
                    stop.set()
                    continue
                if msg is None:
                    del open_conns[conn]
                    continue
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
            records.append(rec)  # before the write: the reader may get the result first
            rec.issued_ns = wait_until(sched)
            try:
                os.write(req_w, _REQUEST.pack(i, sched))
            except OSError:  # every child is gone (the reader notes why): this query never ran
                break
    except KeyboardInterrupt:
        interrupted = True
        if records and not records[-1].issued_ns:
            records.pop()  # stamped but never sent
    except BaseException:
        for proc in procs:
            proc.kill()
        raise
    if interrupted:
        halt.set()
    interrupted = _finish(procs, req_w, reader, halt)
    for conn in conns:
        conn.close()
    end = max([r.done_ns for r in records if r.completed] + [now_ns()])
    unfinished = sum(1 for r in records if not r.completed) + (len(offsets) - len(records))
    return LoadResult(records, start, end, interrupted=interrupted,
                      overloaded=stop.is_set() and not interrupted and not notes, unfinished=unfinished,
                      notes=notes)


def _finish(procs: list[Any], req_w: int, reader: threading.Thread, halt: Any) -> bool:
    """Tell the children to finish, wait for them and the reader; whether the run was interrupted
    (``halt`` set by a Ctrl-C while issuing, or a Ctrl-C during this wait, which stops waiting for
    the queries in flight)."""
    with contextlib.suppress(OSError):  # every child gone already
        for _ in procs:  # one stop message per child: each takes one and ends
            os.write(req_w, _REQUEST.pack(-1, 0))
    interrupted = halt.is_set()
    try:
        reader.join()
    except KeyboardInterrupt:
        interrupted = True
        for proc in procs:
            proc.kill()
        reader.join(10)
    os.close(req_w)
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return interrupted


__all__ = ["open_loop_process", "process_sut_available"]
