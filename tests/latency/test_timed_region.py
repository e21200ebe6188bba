"""What is inside a query's timed region (and what is not), garbage collection during a run, and the
server's system under test in a separate process."""
from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import time
import weakref

import numpy as np
import pytest
from latency_sut import interrupted_at
from latency_sut import pool as _pool
from latency_sut import scores as _scores
from latency_sut import sut as _sut

from gapbench.core.predictions import ClassScores
from gapbench.core.sample import Sample
from gapbench.errors import InputError
from gapbench.latency import process_sut
from gapbench.latency.loadgen import QueryRecord, closed_loop, now_ns
from gapbench.latency.process_sut import open_loop_process
from gapbench.latency.scenarios import ScenarioSettings, run_scenario, switch_interval
from gapbench.latency.stats import BatchTiming
from gapbench.models.base import PredictionTypeError, coerce_prediction


def _spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_closed_loop_ends_the_timed_region_at_the_completion_stamp():
    def serve_then_bookkeep(q, rec):
        rec.done_ns = now_ns()
        time.sleep(0.02)  # after completion: not the query's latency

    def serve_plain(q, rec):
        time.sleep(0.02)

    early = closed_loop(serve_then_bookkeep, [[1]], min_queries=3)
    plain = closed_loop(serve_plain, [[1]], min_queries=3)
    assert max(r.latency_s for r in early.records) < 0.01
    assert min(r.latency_s for r in plain.records) >= 0.02


def test_pipeline_bookkeeping_is_outside_the_query_latency(monkeypatch):
    # stage arrays are built after the last validated prediction exists: slow them down, the
    # latency must not move (stamped at BatchTiming.t_done), and every stage is still reported
    real = BatchTiming.of.__func__

    def slow_of(cls, *a, **kw):
        time.sleep(0.03)
        return real(cls, *a, **kw)

    monkeypatch.setattr(BatchTiming, "of", classmethod(slow_of))
    b = run_scenario(_sut(lambda batch: (_spin(0.002), _scores(batch))[1]), _pool(),
                     ScenarioSettings("single-stream", min_queries=5, min_duration_s=0, warmup_queries=0,
                                      early_stopping=False)).block
    assert 2.0 <= b["end_to_end"]["max_ms"] < 20.0
    assert set(b["stages"]) == {"decode", "shift", "preprocess", "inference", "postprocess", "transport"}
    assert b["stages"]["inference"]["p50_ms"] >= 2.0 and b["stages"]["postprocess"]["count"] == 5


def test_no_collection_inside_a_closed_loop_query_and_the_gc_is_restored():
    seen = []
    assert gc.isenabled() and gc.get_freeze_count() == 0
    closed_loop(lambda q, rec: seen.append(gc.isenabled()), [[1]], min_queries=5)
    assert seen == [False] * 5
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        closed_loop(lambda q, rec: None, [[1]], min_queries=2)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


class _Cycle:
    def __init__(self):
        self.me = self


def test_fast_class_score_validation_equals_the_numpy_path():
    for raw in ([1.0, 0.0], [3, -2], (0.25, 1, 2.5), [float("inf"), 0.0]):
        fast = coerce_prediction("image-classification", raw, len(raw))
        assert isinstance(fast, ClassScores)
        assert fast == coerce_prediction("image-classification", np.asarray(raw, dtype=float), len(raw))
    for raw, n in (([1.0, float("nan")], 2), ([1.0, 0.0, 0.0], 2), ([], 2)):
        with pytest.raises(PredictionTypeError):
            coerce_prediction("image-classification", raw, n)
    assert coerce_prediction("image-classification", [True, 0.5], 2) == ClassScores((1.0, 0.5))  # numpy path


def test_switch_interval_is_set_inside_and_restored():
    before = sys.getswitchinterval()
    with switch_interval(0.2):
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    assert sys.getswitchinterval() == before
    with switch_interval(None):
        assert sys.getswitchinterval() == before


@pytest.mark.parametrize("kw", [dict(sut="gpu", scenario="server", qps=5.0), dict(sut="process"),
                                dict(switch_interval_ms=0.2),
                                dict(scenario="server", qps=5.0, switch_interval_ms=0.0)])
def test_sut_settings_are_validated(kw):
    with pytest.raises(InputError):
        ScenarioSettings(**kw).check()


def test_a_gil_holding_model_delays_the_threaded_issuer_and_the_report_says_so():
    # 15 ms of pure-Python spin per query, switch interval 50 ms: the issuer waits for the spin to end
    s = ScenarioSettings("server", min_queries=12, min_duration_s=0, qps=100.0, warmup_queries=0,
                         switch_interval_ms=50.0, early_stopping=False)
    b = run_scenario(_sut(lambda batch: (_spin(0.015), _scores(batch))[1]), _pool(), s).block
    assert b["issue_delay"]["p99_ms"] > 1.0
    assert any("--sut process" in n for n in b["notes"])


@pytest.mark.skipif(not process_sut.process_sut_available(), reason="needs the fork start method")
def test_process_sut_serves_in_a_child_and_keeps_predictions_for_accuracy():
    parent = os.getpid()

    def model(batch):
        _spin(0.001)  # holds the GIL -- of the child
        return [[1.0, 0.0] if os.getpid() != parent else [0.0, 1.0] for _ in batch]

    sut, pool = _sut(model), _pool()
    s = ScenarioSettings("server", min_queries=30, min_duration_s=0, qps=200.0, latency_bound_ms=500.0,
                         warmup_queries=2, sut="process", early_stopping=False)
    run = run_scenario(sut, pool, s)
    b = run.block
    assert b["queries"] == 30 and b["unfinished"] == 0 and b["failures"] == 0 and b["valid"] is True
    assert b["settings"]["sut"] == "process" and b["warmup_queries"] == 2
    assert b["stages"]["inference"]["p50_ms"] >= 1.0
    recs = run.load.records
    assert all(r.scheduled_ns <= r.issued_ns <= r.started_ns <= r.done_ns for r in recs)
    for r in recs:  # served in the child; the parent's samples re-attached to the outcome
        assert r.outcome.predictions == [ClassScores((1.0, 0.0))]
        assert r.outcome.samples[0] is pool[r.index % len(pool)]
    assert sum(sut.served[-30:]) == 30


@pytest.mark.skipif(not process_sut.process_sut_available(), reason="needs the fork start method")
def test_process_sut_failures_overload_crash_and_ctrl_c(monkeypatch):
    pool = _pool()
    queries = [[s] for s in pool]

    def failing(batch):
        if int(batch[0][0, 0]) == 3:
            raise RuntimeError("bad sample")
        return _scores(batch)

    sched = np.arange(1, 17) * 0.002
    for workers in (1, 2):
        res = open_loop_process(_sut(failing), queries, sched, workers=workers)
        assert sum(r.completed for r in res.records) == 16 and sum(r.error is not None for r in res.records) == 2
        assert all(isinstance(r.outcome.samples[0], Sample) for r in res.records if r.error is None)

    for workers in (1, 2):  # each child refuses what waited too long; the parent stops issuing
        res = open_loop_process(_sut(lambda b: (time.sleep(0.05), _scores(b))[1]), queries,
                                np.arange(1, 41) * 0.001, workers=workers, abort_after_s=0.1)
        assert res.overloaded and res.unfinished > 0 and not res.interrupted and not res.notes

    def crash(batch):
        if int(batch[0][0, 0]) == 2:
            os._exit(3)
        return _scores(batch)

    for workers in (1, 2):  # the child serving query 2 dies: issuing stops, the rest of what was issued ran
        res = open_loop_process(_sut(crash), queries, np.arange(1, 9) * 0.005, workers=workers)
        assert [r.completed for r in res.records[:3]] == [True, True, False] and not res.overloaded
        assert [n for n in res.notes if "ended early" in n and "exit code 3" in n] and len(res.notes) == 1
        assert res.unfinished == 8 - sum(r.completed for r in res.records) and not res.interrupted

    real_wait = process_sut.wait_until
    for workers in (1, 2):
        monkeypatch.setattr(process_sut, "wait_until", interrupted_at(6, real_wait))
        res = open_loop_process(_sut(_scores), queries, np.arange(1, 21) * 0.02, workers=workers)
        done = [r.completed for r in res.records]
        assert res.interrupted and len(done) == 5 and res.unfinished == 20 - sum(done)
        # what completed is kept; what was still queued at Ctrl-C is skipped (a prefix ran)
        assert done[0] and done == sorted(done, reverse=True)


@pytest.mark.skipif(not process_sut.process_sut_available(), reason="needs the fork start method")
def test_process_sut_children_that_die_at_start_are_reported(monkeypatch):
    queries = [[s] for s in _pool()]
    with pytest.raises(RuntimeError, match="did not start"):  # an invalid interval fails in every child
        open_loop_process(_sut(_scores), queries, np.arange(1, 5) * 0.001, workers=2, switch_interval_s=-1.0)
    real_child = process_sut._child

    def second_dies(*args):
        if multiprocessing.current_process().name.endswith("-1"):
            os._exit(5)
        real_child(*args)

    monkeypatch.setattr(process_sut, "_child", second_dies)
    with pytest.raises(RuntimeError, match=r"did not start \(exit codes \[-9, 5\]\)"):
        open_loop_process(_sut(_scores), queries, np.arange(1, 5) * 0.001, workers=2)


@pytest.mark.skipif(not process_sut.process_sut_available(), reason="needs the fork start method")
def test_process_sut_forks_one_child_per_worker_and_collects_between_queries():
    parent, probes = os.getpid(), []

    def model(batch):  # (the pid serving, how many earlier queries' garbage cycles this child still holds)
        alive = sum(r() is not None for r in probes)
        probe = _Cycle()
        probes.append(weakref.ref(probe))
        del probe
        for _ in range(gc.get_threshold()[0] + 10):  # allocations past the youngest threshold
            _Cycle()
        _spin(0.01 if not gc.isenabled() else 1.0)  # a GIL-holding service; much longer if gc were on
        return [[float(os.getpid()), float(alive)] for _ in batch]

    queries = [[s] for s in _pool()]
    res = open_loop_process(_sut(model), queries, np.repeat(np.arange(1, 7) * 0.03, 2), workers=2)
    scores = [r.outcome.predictions[0].scores for r in res.records]
    assert res.unfinished == 0 and len(scores) == 12
    pids = {int(s[0]) for s in scores}
    assert len(pids) == 2 and parent not in pids  # two children, one per worker
    assert all(s[1] == 0 for s in scores)  # each query's garbage was collected before the next one began
    assert max(r.latency_s for r in res.records) < 0.5  # automatic collection stayed off inside queries


def test_query_record_defaults_leave_done_unset():
    assert QueryRecord(0, 1, 5).done_ns == 0  # closed/open loops stamp it when serve did not


@pytest.mark.skipif(not process_sut.process_sut_available(), reason="needs the fork start method")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_server_with_a_process_sut_scores_and_stores(tmp_path, workers):
    import json

    import typer
    from typer.testing import CliRunner

    from gapbench.cli import latency as cli_latency

    app = typer.Typer()
    cli_latency.register(app, typer.Typer(), typer.Typer())
    app.command("noop")(lambda: None)  # a second command keeps "latency" a subcommand
    res = CliRunner().invoke(app, ["latency", "--task", "digits", "--scenario", "server", "--qps", "300",
                                   "--min-queries", "40", "--min-duration", "0", "--sut", "process", "--workers", workers,
                                   "--no-early-stopping", "--latency-bound", "2s", "--format", "json",
                                   "--store", f"sqlite:///{tmp_path / 'r.db'}", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    lat = doc["latency"]
    assert lat["settings"]["sut"] == "process" and lat["queries"] == 40 and lat["unfinished"] == 0
    assert lat["settings"]["workers"] == int(workers) and lat["failures"] == 0
    assert doc["results"] and 0 < doc["results"][0]["metrics"]["top1"]["value"] <= 1
    assert doc["provenance"]["latency"]["peak_rss_children_mb"] > 10


@pytest.mark.skipif(not process_sut.process_sut_available(), reason="needs the fork start method")
def test_process_sut_applies_the_switch_interval_in_the_child_only():
    before = sys.getswitchinterval()
    s = ScenarioSettings("server", min_queries=5, min_duration_s=0, qps=200.0, warmup_queries=0, sut="process",
                         switch_interval_ms=0.25, workers=2, early_stopping=False)
    run = run_scenario(_sut(lambda batch: [[sys.getswitchinterval() * 1e3, 0.0] for _ in batch]), _pool(), s)
    assert [r.outcome.predictions[0].scores[0] for r in run.load.records] == pytest.approx([0.25] * 5)
    assert sys.getswitchinterval() == before
