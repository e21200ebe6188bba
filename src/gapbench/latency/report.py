"""The latency block of a latency run document, and its table.

One shape (``RunDocument(kind="latency").latency``; times in milliseconds)::

    scenario            single-stream | multi-stream | server | offline
    settings            the scenario's settings (min_queries, min_duration_s, qps, latency_bound_ms, ...)
    valid               bool; invalid_reasons: [str]
    end_to_end          {p50_ms, p90_ms, p99_ms, mean_ms, max_ms, count}   per query, from its scheduled
                        issue time to its last result (queueing included)
    stages              {stage: {p50_ms, p90_ms, p99_ms, mean_ms, max_ms, count}} per query, the pipeline's
                        stage names (latency/stages.py); ``decode`` is measured when the sample pool is
                        loaded (LoadGen's LoadSamplesToRam), outside end_to_end
    issue_delay         (server) {p50_ms, ...}: issue time - scheduled time (the load generator's accuracy)
    time_to_first_result  {p50_ms, ...} for adapters that stream, else null
    throughput          {queries_per_s, samples_per_s}; fps (image tasks) ; rtf, rtfx (audio with durations)
    early_stopping      {percentile, confidence, estimate_ms, overlatency_allowed} (LoadGen's rule) or null
    queries, samples, failures, unfinished, duration_s, warmup_queries, warmup_s, interrupted
    sweep               offline: one {batch_size, samples_per_s, ...} per batch size;
                        server --find-max-qps: one {qps, valid, p99_ms, ...} per step; max_qps
    notes               [str]
    hardware            (latency/hardware.py) {energy_j, cpu_energy_j, gpu_energy_j, energy_j_per_query,
                        energy_j_per_sample, energy_sources, gpu_memory_peak_mb, gpu_memory_source,
                        not_available: {what: reason}}; None figures always come with their reason

Percentiles: ``numpy.percentile(method="linear")`` (Hyndman & Fan type 7), the same definition as
:mod:`gapbench.latency.stats`; :func:`percentile_nearest_rank` gives the nearest-rank value
(``sorted[ceil(p*n) - 1]``), which the benchmark against LoadGen also prints.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapbench.latency.loadgen import LoadResult
from gapbench.latency.stages import STAGES

PERCENTILES = (50, 90, 99)


def percentiles_ms(values_s: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """``{p50_ms, p90_ms, p99_ms, mean_ms, max_ms, count}`` of seconds, numpy's linear method."""
    v = np.asarray(values_s, dtype=float).ravel()
    if v.size == 0:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None, "count": 0}
    p = np.percentile(v, PERCENTILES, method="linear") * 1e3
    return {"p50_ms": float(p[0]), "p90_ms": float(p[1]), "p99_ms": float(p[2]),
            "mean_ms": float(v.mean() * 1e3), "max_ms": float(v.max() * 1e3), "count": int(v.size)}


def percentile_nearest_rank(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``q``% of the values <= it."""
    v = np.sort(np.asarray(values, dtype=float).ravel())
    if v.size == 0:
        raise ValueError("no values")
    k = max(1, math.ceil(q / 100.0 * v.size))
    return float(v[k - 1])


def early_stopping(latencies_s: Sequence[float] | np.ndarray, percentile: float,
                   confidence: float = 0.99) -> dict[str, Any]:
    """LoadGen's early-stopping estimate of a latency percentile on a finite number of queries.

    MLPerf Inference rules, "Early stopping": with ``n`` queries, allow ``t`` queries above the
    reported latency, ``t`` the largest count with ``P[Binomial(n, 1 - p) <= t] <= 1 - confidence``;
    the estimate is then the ``(t+1)``-th largest latency, an upper bound on the true ``p``
    percentile at that confidence. With too few queries for any ``t >= 0`` there is no estimate
    (``estimate_ms`` None: the run needs more queries).
    """
    from scipy.stats import binom

    v = np.sort(np.asarray(latencies_s, dtype=float).ravel())[::-1]
    n = int(v.size)
    q = 1.0 - percentile / 100.0
    t = -1
    if n:
        ks = np.arange(n)
        ok = np.nonzero(binom.cdf(ks, n, q) <= 1.0 - confidence)[0]
        t = int(ok[-1]) if ok.size else -1
    return {"percentile": percentile, "confidence": confidence, "queries": n,
            "overlatency_allowed": t if t >= 0 else None,
            "estimate_ms": float(v[t] * 1e3) if t >= 0 else None}


def scenario_block(scenario: str, settings: dict[str, Any], load: LoadResult, *, sample_decode_s: Sequence[float],
                   target_percentile: float, image_task: bool) -> dict[str, Any]:
    """The latency block of one scenario run (see the module docstring)."""
    done = [r for r in load.records if r.completed]
    ok = [r for r in done if r.error is None]
    failures = len(done) - len(ok)
    lat = [r.latency_s for r in ok]
    stages: dict[str, Any] = {}
    for s in STAGES:
        if s == "decode":
            stages[s] = percentiles_ms(sample_decode_s)
        else:
            stages[s] = percentiles_ms([r.stages.get(s, 0.0) for r in ok])
    ttfr = [(r.first_ns - r.scheduled_ns) / 1e9 for r in ok if r.first_ns is not None]
    n_samples = sum(r.n for r in ok)
    dur = load.duration_s
    block: dict[str, Any] = {
        "scenario": scenario,
        "settings": dict(settings),
        "unit": "ms",
        "percentile_method": "linear",
        "end_to_end": percentiles_ms(lat),
        "stages": stages,
        "time_to_first_result": percentiles_ms(ttfr) if ttfr else None,
        "throughput": {"queries_per_s": len(ok) / dur if dur > 0 else None,
                       "samples_per_s": n_samples / dur if dur > 0 else None},
        "queries": len(ok), "samples": n_samples, "failures": failures, "unfinished": load.unfinished,
        "duration_s": dur, "interrupted": load.interrupted, "notes": list(load.notes),
    }
    if scenario == "server":
        block["issue_delay"] = percentiles_ms([r.issue_delay_s for r in load.records])
        block["queue"] = percentiles_ms([r.queue_s for r in ok])
    if image_task:
        block["fps"] = block["throughput"]["samples_per_s"]
    pairs = [(r.latency_s, sum(d for d in r.durations if d)) for r in ok
             if r.durations and all(d is not None and d > 0 for d in r.durations)]
    if pairs and sum(d for _, d in pairs) > 0:
        rtf = sum(c for c, _ in pairs) / sum(d for _, d in pairs)
        block["rtf"], block["rtfx"] = rtf, (1.0 / rtf if rtf > 0 else None)
    block["early_stopping"] = early_stopping(lat, target_percentile) if scenario != "offline" else None
    reasons: list[str] = []
    if failures:
        reasons.append(f"{failures} query(ies) failed (left out of the percentiles)")
    if load.unfinished:
        reasons.append(f"{load.unfinished} query(ies) never ran" +
                       (": the system could not sustain the load" if load.overloaded else ""))
    if load.interrupted:
        reasons.append("interrupted (Ctrl-C): what was measured is kept")
    mq = settings.get("min_queries")
    if mq and scenario != "offline" and len(ok) < mq:
        reasons.append(f"{len(ok)} queries completed, fewer than --min-queries {mq}")
    md = settings.get("min_duration_s")
    if md and dur < md and scenario != "offline":
        reasons.append(f"ran {dur:.2f} s, less than --min-duration {md}")
    es = block["early_stopping"]
    if es is not None and es["estimate_ms"] is None and ok and settings.get("early_stopping", True):
        reasons.append(f"too few queries ({len(ok)}) for the early-stopping p{target_percentile:g} estimate")
    bound = settings.get("latency_bound_ms")
    p99 = block["end_to_end"]["p99_ms"]
    if scenario == "server" and bound is not None and (p99 is None or p99 > bound):
        reasons.append(f"p99 {'n/a' if p99 is None else f'{p99:.3f} ms'} exceeds the latency bound {bound:g} ms")
    block["valid"] = not reasons
    block["invalid_reasons"] = reasons
    return block


__all__ = ["early_stopping", "percentile_nearest_rank", "percentiles_ms", "scenario_block"]
