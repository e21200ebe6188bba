"""``--engine loadgen``: the same system under test under MLPerf LoadGen, every scenario we ship."""
from __future__ import annotations

import time

import numpy as np
import pytest

from gapbench.core.sample import Sample
from gapbench.latency.mlperf import parse_summary, run_loadgen
from gapbench.latency.scenarios import ScenarioSettings, SystemUnderTest
from gapbench.models.python_callable import PythonCallableModel

pytest.importorskip("mlperf_loadgen", reason="mlcommons-loadgen not installed (extra 'loadgen')")


def _setup(calls):
    def model(batch):
        calls.append(len(batch))
        time.sleep(0.001)
        return [[1.0, 0.0] for _ in batch]

    pool = [Sample(f"s{i}", np.full((2, 2), i, np.uint8), 0) for i in range(16)]
    return SystemUnderTest(PythonCallableModel(model, name="python:t"), "image-classification", num_classes=2), pool


@pytest.mark.parametrize("scenario,extra", [
    ("single-stream", {}),
    ("multi-stream", {"samples_per_query": 4}),
    ("server", {"qps": 100.0, "latency_bound_ms": 100.0}),
    ("offline", {"batch_sizes": (4,)}),
])
def test_loadgen_engine_runs_each_scenario_and_writes_mlperf_logs(tmp_path, scenario, extra):
    calls = []
    sut, pool = _setup(calls)
    s = ScenarioSettings(scenario, min_queries=60, min_duration_s=0.3, warmup_queries=0, **extra)
    run = run_loadgen(sut, pool, s, tmp_path)
    b = run.block
    assert (tmp_path / "mlperf_log_summary.txt").is_file() and (tmp_path / "mlperf_log_detail.txt").is_file()
    lg = b["loadgen"]
    assert lg["p50_ms"] is not None and lg["p50_ms"] >= 1.0 and lg["result"] in ("VALID", "INVALID")
    assert b["failures"] == 0 and b["samples"] == sum(calls)  # every sample LoadGen issued was served
    per_call = {"multi-stream": 4, "offline": 4}.get(scenario, 1)
    assert max(calls) == per_call and b["queries"] >= (1 if scenario == "offline" else 60)
    assert b["end_to_end"]["p50_ms"] >= 1.0
    if lg["result"] != "VALID":
        assert b["valid"] is False


def test_parse_summary():
    text = ("Scenario : Server\nCompleted samples per second    : 99.5\nResult is : INVALID\n"
            "50.00 percentile latency (ns)   : 2500000\n90.00 percentile latency (ns)   : 3000000\n"
            "99.00 percentile latency (ns)   : 9000000\nMean latency (ns)               : 2750000\n")
    got = parse_summary(text)
    assert got == {"p50_ms": 2.5, "p90_ms": 3.0, "p99_ms": 9.0, "mean_ms": 2.75, "samples_per_s": 99.5,
                   "result": "INVALID"}
