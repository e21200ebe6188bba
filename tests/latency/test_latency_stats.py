"""Latency statistics against numpy on known timings."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.latency.stats import STAGES, BatchTiming, StageStats, summarize


def _batch(i, n, load, infer, t_done, pre=None, durations=None):
    pre = pre if pre is not None else [0.001 * (k + 1) for k in range(n)]
    return BatchTiming.of(i, n, t_done, {"shift": [0.0] * n, "preprocess": pre, "postprocess": [0.0005] * n},
                          {"decode": load, "inference": infer}, durations)


def test_stage_stats_match_numpy_linear():
    rng = np.random.default_rng(0)
    v = rng.exponential(0.01, size=101)
    st = StageStats.of(v)
    assert st.count == 101
    assert st.mean == pytest.approx(v.mean())
    assert st.total == pytest.approx(v.sum())
    for q, got in ((50, st.p50), (90, st.p90), (99, st.p99)):
        assert got == pytest.approx(np.percentile(v, q, method="linear"))
    # 'linear' on 1..10: p90 = 9.1 (type 7), differs from e.g. 'nearest'
    assert StageStats.of(np.arange(1, 11)).p90 == pytest.approx(9.1)


def test_empty_stats():
    st = StageStats.of([])
    assert st.count == 0 and st.mean is None and st.p99 is None
    rep = summarize([], t_start=0.0)
    assert rep.measured_samples == 0 and rep.throughput is None
    assert any("no samples were computed" in n for n in rep.notes)


def test_summarize_per_stage_end_to_end_and_warmup():
    b0 = _batch(0, 4, load=0.4, infer=4.0, t_done=10.0)  # warm-up: slow, dropped
    b1 = _batch(1, 4, load=0.04, infer=0.08, t_done=11.0)
    b2 = _batch(2, 2, load=0.02, infer=0.06, t_done=12.0)
    rep = summarize([b0, b1, b2], warmup_batches=1, t_start=9.0)
    assert rep.warmup_batches == 1 and rep.warmup_samples_dropped == 4
    assert any("warm-up: dropped the first 1" in n for n in rep.notes)
    infer = np.array([0.02] * 4 + [0.03] * 2)
    load = np.array([0.01] * 4 + [0.01] * 2)
    pre = np.array([0.001, 0.002, 0.003, 0.004, 0.001, 0.002])
    post = np.full(6, 0.0005)
    assert rep.stages["inference"].mean == pytest.approx(infer.mean())
    assert rep.stages["preprocess"].p90 == pytest.approx(np.percentile(pre, 90, method="linear"))
    e2e = infer + load + pre + post
    assert rep.end_to_end.count == 6
    assert rep.end_to_end.p50 == pytest.approx(np.percentile(e2e, 50, method="linear"))
    assert rep.end_to_end.p99 == pytest.approx(np.percentile(e2e, 99, method="linear"))
    assert rep.end_to_end.total == pytest.approx(sum(rep.stages[s].total for s in STAGES))
    assert rep.batch_latency.count == 2
    # throughput: 6 measured samples between the end of warm-up (10.0) and the last batch (12.0)
    assert rep.throughput == pytest.approx(3.0)
    js = rep.to_json()
    assert js["percentile_method"] == "linear" and js["warmup_samples_dropped"] == 4
    assert set(js["stages"]) == set(STAGES)


def test_no_warmup_and_too_few_batches():
    b0 = _batch(0, 2, load=0.0, infer=0.2, t_done=1.0)
    rep = summarize([b0], warmup_batches=1, t_start=0.0)
    assert rep.warmup_batches == 0 and rep.measured_samples == 2
    assert any("warm-up not dropped" in n for n in rep.notes)
    assert rep.throughput == pytest.approx(2.0)
    rep0 = summarize([b0, _batch(1, 2, 0.0, 0.2, 2.0)], warmup_batches=0, t_start=0.0)
    assert rep0.measured_samples == 4 and rep0.throughput == pytest.approx(2.0)


def test_real_time_factor_from_durations():
    b0 = _batch(0, 2, load=0.0, infer=0.0, t_done=1.0, pre=[0.0, 0.0])
    b1 = _batch(1, 2, load=0.0, infer=1.0, t_done=2.0, pre=[0.0, 0.0], durations=[2.0, None])
    rep = summarize([b0, b1], warmup_batches=1, t_start=0.0)
    # only the sample with a known duration counts: (0.5 + 0.0005) / 2.0
    assert rep.real_time_factor == pytest.approx(0.5005 / 2.0)
    assert summarize([b0, _batch(1, 2, 0, 1.0, 2.0)], t_start=0.0).real_time_factor is None


def test_rtfx_is_audio_over_model_time():
    """Open ASR Leaderboard: audio seconds / (preprocess + inference + postprocess) seconds."""
    b0 = _batch(0, 2, load=0.0, infer=0.2, t_done=1.0, durations=[1.0, 1.0])  # warm-up, dropped
    b1 = _batch(1, 2, load=0.5, infer=0.2, t_done=2.0, pre=[0.01, 0.03], durations=[2.0, 4.0])
    rep = summarize([b0, b1], warmup_batches=1, t_start=0.0)
    model_s = 0.2 + 0.01 + 0.03 + 2 * 0.0005  # decode (load) is not model time
    assert rep.rtfx == pytest.approx(6.0 / model_s)
    assert rep.to_json()["rtf"] == pytest.approx(model_s / 6.0)


def test_fps_is_the_throughput_of_image_samples_only():
    batches = [_batch(0, 2, load=0.0, infer=0.2, t_done=1.0), _batch(1, 4, load=0.0, infer=0.2, t_done=3.0)]
    rep = summarize(batches, warmup_batches=1, t_start=0.0, images=True)
    assert rep.fps == rep.throughput == pytest.approx(4 / 2.0)
    assert rep.to_json()["fps"] == pytest.approx(2.0)
    assert summarize(batches, warmup_batches=1, t_start=0.0).to_json()["fps"] is None
