"""Issue 10's fault and reporting checklist at the scenario level: Ctrl-C in the server's open loop,
an unsustainable QPS, warm-up reported only as warmup_queries/warmup_s, load time and peak memory,
time to first result of the streaming pocketsphinx adapter."""
from __future__ import annotations

import time

import pytest
from latency_sut import interrupted_at
from latency_sut import pool as _pool
from latency_sut import scores as _scores
from latency_sut import sut as _sut

from gapbench.latency import loadgen
from gapbench.latency.scenarios import ScenarioSettings, run_scenario


def _keys(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{prefix}{k}"
            yield from _keys(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v, prefix)


def test_server_ctrl_c_keeps_what_was_measured(monkeypatch):
    monkeypatch.setattr(loadgen, "wait_until", interrupted_at(11, loadgen.wait_until))
    s = ScenarioSettings("server", min_queries=40, min_duration_s=0, qps=200.0, latency_bound_ms=100.0,
                         warmup_queries=0, early_stopping=False)
    b = run_scenario(_sut(_scores), _pool(), s).block
    assert b["interrupted"] is True and 1 <= b["queries"] <= 10 and b["end_to_end"]["count"] == b["queries"]
    assert b["unfinished"] == 40 - b["queries"]
    assert b["valid"] is False and any("interrupted" in r for r in b["invalid_reasons"])


def test_an_unsustainable_qps_is_reported_as_such_in_bounded_time():
    s = ScenarioSettings("server", min_queries=400, min_duration_s=0, qps=400.0, latency_bound_ms=20.0,
                         warmup_queries=0, early_stopping=False)
    t0 = time.perf_counter()
    b = run_scenario(_sut(lambda batch: (time.sleep(0.02), _scores(batch))[1]), _pool(), s).block
    assert time.perf_counter() - t0 < 4.0  # 400 x 20 ms would be 8 s; the run gives up after ~1 s of queue
    assert b["unfinished"] > 0 and b["valid"] is False
    assert any("could not sustain the load" in r for r in b["invalid_reasons"])


def test_warmup_is_reported_only_as_its_count_and_seconds():
    for sc, kw in (("single-stream", {}), ("multi-stream", {"samples_per_query": 2}),
                   ("server", {"qps": 300.0}), ("offline", {"batch_sizes": (1, 2)})):
        s = ScenarioSettings(sc, min_queries=12, min_duration_s=0, warmup_queries=4, early_stopping=False, **kw)
        b = run_scenario(_sut(_scores), _pool(), s).block
        assert b["warmup_queries"] == 4 and b["warmup_s"] > 0
        warm = {k for k in _keys(b) if "warm" in k}
        assert warm == {"warmup_queries", "warmup_s", "settings.warmup_queries"}, sc


def test_load_time_and_peak_memory_are_reported(tmp_path):
    from gapbench.latency.run import run_latency

    model = tmp_path / "slow_load.py"  # 50 ms to load (construction to first ready), outside the scenario
    model.write_text("import time\ntime.sleep(0.05)\n\ndef fn(batch):\n    return [[1.0] + [0.0] * 9 for _ in batch]\n")
    doc, _ = run_latency("digits", f"python:{model}:fn", ScenarioSettings(
        "single-stream", min_queries=5, min_duration_s=0, warmup_queries=1, early_stopping=False),
        show_progress=False, limit=10)
    assert doc.latency["load_ms"] >= 50 and doc.latency["end_to_end"]["max_ms"] < 50
    assert doc.provenance["peak_rss_mb"] > 10
    assert doc.latency["hardware"]["energy_j"] is None or doc.latency["hardware"]["energy_j"] >= 0


@pytest.mark.slow
def test_time_to_first_result_of_the_streaming_pocketsphinx_adapter():
    pytest.importorskip("pocketsphinx")
    from gapbench.latency.run import run_latency

    doc, _ = run_latency("asr-digits", "pocketsphinx-digits", ScenarioSettings(
        "single-stream", min_queries=6, min_duration_s=0, warmup_queries=1, early_stopping=False),
        show_progress=False, limit=6)
    b = doc.latency
    ttfr, e2e = b["time_to_first_result"], b["end_to_end"]
    assert ttfr is not None and ttfr["count"] == 6
    assert 0 < ttfr["p50_ms"] < e2e["p50_ms"]  # a partial hypothesis before the whole clip is decoded
    assert b["rtfx"] > 1 and not any("does not stream" in n for n in b["notes"])
    assert doc.results and doc.results[0].metrics["wer"].value is not None  # the streamed final texts, scored
