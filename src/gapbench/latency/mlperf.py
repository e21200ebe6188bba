"""``--engine loadgen``: the same system under test driven by MLPerf LoadGen (``mlcommons-loadgen``),
for MLPerf-format logs (``mlperf_log_summary.txt``, ``mlperf_log_detail.txt`` in ``log_dir``).

LoadGen issues the queries (its own clock, schedule and early-stopping rule); gapbench serves them
through the same :class:`~gapbench.latency.scenarios.SystemUnderTest` and records its stages. The
block has gapbench's shape (figures from gapbench's records, measured from when LoadGen called
``issue_queries``) plus ``loadgen``: LoadGen's own summary (its percentiles, QPS and verdict).

How completions are reported, per scenario (``mlcommons-loadgen`` 6.0 crashed in Offline when
completions came from a worker thread, see OFFLINE.md; every path below is exercised by the tests):

* single-stream, multi-stream, offline: inline, inside ``issue_queries`` (LoadGen waits for them);
* server: ``issue_queries`` only enqueues; a worker thread serves and completes (open loop).
"""
from __future__ import annotations

import queue
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gapbench.core.sample import Sample
from gapbench.errors import InputError
from gapbench.latency.loadgen import LoadResult, QueryRecord, now_ns
from gapbench.latency.report import scenario_block
from gapbench.latency.scenarios import TARGET_PERCENTILE, ScenarioRun, ScenarioSettings, SystemUnderTest
from gapbench.latency.stats import IMAGE_TYPES

_SUMMARY_KEYS = {"p50_ms": "50.00 percentile latency (ns)", "p90_ms": "90.00 percentile latency (ns)",
                 "p99_ms": "99.00 percentile latency (ns)", "mean_ms": "Mean latency (ns)"}


def loadgen_available() -> bool:
    try:
        import mlperf_loadgen  # noqa: F401
    except ImportError:
        return False
    return True


def parse_summary(text: str) -> dict[str, Any]:
    """The figures of an ``mlperf_log_summary.txt``: percentiles (ms), throughput, verdict."""
    def num(label: str) -> float | None:
        m = re.search(rf"^{re.escape(label)}\s*:\s*([0-9.eE+-]+)", text, re.MULTILINE)
        return float(m.group(1)) if m else None

    out: dict[str, Any] = {k: (None if (v := num(label)) is None else v / 1e6) for k, label in _SUMMARY_KEYS.items()}
    for label, key in (("Samples per second", "samples_per_s"), ("Completed samples per second", "samples_per_s"),
                       ("QPS w/o loadgen overhead", "queries_per_s"), ("Scheduled samples per second",
                                                                        "scheduled_samples_per_s")):
        v = num(label)
        if v is not None:
            out[key] = v
    m = re.search(r"^Result is\s*:\s*(\w+)", text, re.MULTILINE)
    out["result"] = m.group(1) if m else None
    return out


def run_loadgen(sut: SystemUnderTest, pool: Sequence[Sample], settings: ScenarioSettings, log_dir: str | Path,
                *, decode_s: Sequence[float] = ()) -> ScenarioRun:
    """Run ``settings.scenario`` under LoadGen (PerformanceOnly); logs go to ``log_dir``."""
    try:
        import mlperf_loadgen as lg
    except ImportError:
        raise InputError(None, "--engine loadgen", "the mlcommons-loadgen package (pip install "
                         "'gapbench[loadgen]')", "not installed") from None
    settings.check()
    sc = settings.scenario
    ts = lg.TestSettings()
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_query_count = settings.min_queries
    ts.min_duration_ms = int(settings.min_duration_s * 1e3)
    ts.schedule_rng_seed = ts.sample_index_rng_seed = ts.qsl_rng_seed = settings.seed
    if sc == "single-stream":
        ts.scenario = lg.TestScenario.SingleStream
        ts.single_stream_expected_latency_ns = 1_000_000
    elif sc == "multi-stream":
        ts.scenario = lg.TestScenario.MultiStream
        ts.multi_stream_samples_per_query = settings.samples_per_query
        ts.multi_stream_expected_latency_ns = 1_000_000
    elif sc == "server":
        ts.scenario = lg.TestScenario.Server
        ts.server_target_qps = float(settings.qps or 1.0)
        ts.server_target_latency_ns = int((settings.latency_bound_ms or 1000.0) * 1e6)
    else:
        ts.scenario = lg.TestScenario.Offline
        ts.offline_expected_qps = float(max(settings.min_queries, 1))
    records: list[QueryRecord] = []
    lock = threading.Lock()
    batch = settings.batch_sizes[0] if sc == "offline" else None

    def serve_chunk(chunk: list[Any], issued: int) -> None:
        rec = QueryRecord(0, len(chunk), issued, issued, now_ns())
        try:
            sut.serve([pool[s.index % len(pool)] for s in chunk], rec)
        except Exception as exc:  # noqa: BLE001 - this query's failure, reported
            rec.error = f"{type(exc).__name__}: {exc}"
        rec.done_ns = now_ns()
        rec.completed = True
        with lock:
            rec.index = len(records)
            records.append(rec)
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in chunk])

    work: queue.SimpleQueue[tuple[list[Any], int] | None] = queue.SimpleQueue()

    def worker() -> None:
        while (item := work.get()) is not None:
            serve_chunk(*item)

    def issue(samples: list[Any]) -> None:
        t = now_ns()
        if sc == "server":
            work.put((list(samples), t))
        elif batch is not None:
            for i in range(0, len(samples), batch):
                serve_chunk(list(samples[i:i + batch]), t)
        else:
            serve_chunk(list(samples), t)

    thread = threading.Thread(target=worker, daemon=True, name="gapbench-loadgen-sut") if sc == "server" else None
    if thread is not None:
        thread.start()
    out = Path(log_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = lg.LogOutputSettings()
    log.outdir = str(out)
    log.copy_summary_to_stdout = False
    ls = lg.LogSettings()
    ls.log_output = log
    lg_sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(len(pool), len(pool), lambda idx: None, lambda idx: None)
    start = now_ns()
    try:
        lg.StartTestWithLogSettings(lg_sut, qsl, ts, ls)
    finally:
        end = now_ns()
        if thread is not None:
            work.put(None)
            thread.join()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(lg_sut)
    load = LoadResult(records, start, end)
    block = scenario_block(sc, {**settings.to_json(), "engine": "loadgen"}, load, sample_decode_s=decode_s,
                           target_percentile=TARGET_PERCENTILE[sc], image_task=sut.task_type in IMAGE_TYPES)
    summary_path = out / "mlperf_log_summary.txt"
    block["loadgen"] = parse_summary(summary_path.read_text()) if summary_path.is_file() else None
    block["log_dir"] = str(out)
    if block["loadgen"] is not None and block["loadgen"]["result"] != "VALID":
        block["invalid_reasons"].append(f"LoadGen's verdict: {block['loadgen']['result']} (see {summary_path})")
        block["valid"] = False
    block["warmup_queries"], block["warmup_s"] = 0, 0.0
    block["notes"].append("engine loadgen: end_to_end is measured from LoadGen's issue_queries call; "
                          "LoadGen's own figures are under 'loadgen'")
    return ScenarioRun(block, load)


__all__ = ["loadgen_available", "parse_summary", "run_loadgen"]
