"""How faithful gapbench's latency figures are, against models whose true service time is known.

Issue 10's fidelity targets, each printed with its measured value and a PASS/MISS verdict:

1. constant 5 ms busy-wait model, single-stream: p50 within 2 %, p99 within 10 % of 5 ms;
2. seeded random service time (uniform 1-9 ms per sample): each query's measured latency minus its
   injected service time (target: within 50 us);
3. server: achieved issue times vs the seeded Poisson schedule, p99 error (target: within 1 ms);
4. harness overhead per query: a no-op model through the load generator alone and through the
   whole pipeline (target: under 50 us).

The same model functions are timed by a plain ``perf_counter_ns`` loop (the floor: no pipeline, no
harness) and, where ``mlcommons-loadgen`` is installed, under MLPerf LoadGen (``--engine loadgen``);
the ratios gapbench / plain and gapbench / LoadGen are printed. All three run in this one process,
one after the other, on the same functions.

Usage: ``python benchmarks/latency_fidelity.py [--queries 500] [--seed 0]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gapbench.core.sample import Sample
from gapbench.latency.loadgen import closed_loop
from gapbench.latency.scenarios import ScenarioSettings, SystemUnderTest, run_scenario
from gapbench.models.python_callable import PythonCallableModel

POOL = 200


def busy_wait_ns(ns: int) -> None:
    """Spin (no sleep: a sleep's wake-up jitter would be measured as the harness's)."""
    end = time.perf_counter_ns() + ns
    while time.perf_counter_ns() < end:
        pass


def pool() -> list[Sample]:
    """POOL samples; sample i's input is a 2x2 image of value i (the model reads its index back)."""
    return [Sample(f"s{i}", np.full((2, 2), i, dtype=np.uint8), i % 2) for i in range(POOL)]


def model_fn(service_ns: Callable[[int], int]) -> Callable[[list[Any]], list[list[float]]]:
    def fn(batch: list[Any]) -> list[list[float]]:
        for x in batch:
            busy_wait_ns(service_ns(int(np.asarray(x).flat[0])))
        return [[1.0, 0.0] for _ in batch]
    return fn


def sut(fn: Callable[[list[Any]], Any]) -> SystemUnderTest:
    return SystemUnderTest(PythonCallableModel(fn, name="python:fidelity"), "image-classification", num_classes=2)


def pct_us(v: Sequence[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(v, dtype=float), q)) / 1e3


def plain_loop(fn: Callable[[list[Any]], Any], samples: Sequence[Sample], n: int) -> np.ndarray:
    """The floor: call the model directly with the raw input, perf_counter_ns around the call."""
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        x = [samples[i % len(samples)].input]
        t0 = time.perf_counter_ns()
        fn(x)
        out[i] = time.perf_counter_ns() - t0
    return out


def gapbench_latencies(fn: Callable[[list[Any]], Any], samples: Sequence[Sample], n: int,
                       **kw: Any) -> tuple[np.ndarray, list[Any], dict[str, Any]]:
    s = ScenarioSettings("single-stream", min_queries=n, min_duration_s=0, warmup_queries=10, **kw)
    run = run_scenario(sut(fn), samples, s)
    recs = [r for r in run.load.records if r.completed and r.error is None]
    return np.array([r.done_ns - r.scheduled_ns for r in recs], dtype=np.int64), recs, run.block


def loadgen_latencies(fn: Callable[[list[Any]], Any], samples: Sequence[Sample], n: int) -> dict[str, Any] | None:
    from gapbench.latency.mlperf import loadgen_available, run_loadgen

    if not loadgen_available():
        return None
    with tempfile.TemporaryDirectory() as d:
        s = ScenarioSettings("single-stream", min_queries=n, min_duration_s=0, warmup_queries=0, early_stopping=False)
        run = run_loadgen(sut(fn), samples, s, d)
    recs = [r for r in run.load.records if r.completed and r.error is None]
    return {"ns": np.array([r.done_ns - r.scheduled_ns for r in recs], dtype=np.int64),
            "loadgen": run.block.get("loadgen") or {}}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--qps", type=float, default=100.0)
    a = ap.parse_args(argv)
    n, samples = a.queries, pool()
    print(f"latency fidelity: {n} queries per figure, python {sys.version.split()[0]}, clock perf_counter_ns, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

    # 1. constant 5 ms
    const = model_fn(lambda i: 5_000_000)
    g, _, _ = gapbench_latencies(const, samples, n)
    p = plain_loop(const, samples, n)
    g50, g99, p50, p99 = pct_us(g, 50), pct_us(g, 99), pct_us(p, 50), pct_us(p, 99)
    e50, e99 = abs(g50 - 5000) / 5000, abs(g99 - 5000) / 5000
    print("\n[1] constant 5 ms busy-wait, single-stream")
    print(f"  gapbench p50 {g50:.1f} us (err {e50:.2%}, target <= 2%: {verdict(e50 <= 0.02)}); "
          f"p99 {g99:.1f} us (err {e99:.2%}, target <= 10%: {verdict(e99 <= 0.10)})")
    print(f"  plain loop p50 {p50:.1f} us, p99 {p99:.1f} us; ratio gapbench/plain p50 {g50 / p50:.4f}, "
          f"p99 {g99 / p99:.4f}")
    lg = loadgen_latencies(const, samples, n)
    if lg is None:
        print("  LoadGen: not installed (pip install 'gapbench[loadgen]')")
    else:
        l50, l99 = pct_us(lg["ns"], 50), pct_us(lg["ns"], 99)
        own = lg["loadgen"]
        print(f"  LoadGen (gapbench serving, LoadGen issuing) p50 {l50:.1f} us, p99 {l99:.1f} us; LoadGen's own "
              f"summary p50 {1e3 * (own.get('p50_ms') or float('nan')):.1f} us, "
              f"p90 {1e3 * (own.get('p90_ms') or float('nan')):.1f} us; "
              f"ratio gapbench/LoadGen p50 {g50 / l50:.4f}, p99 {g99 / l99:.4f}")

    # 2. seeded random service time
    service = np.random.default_rng(a.seed).integers(1_000_000, 9_000_001, size=POOL)
    rnd = model_fn(lambda i: int(service[i]))
    g, recs, _ = gapbench_latencies(rnd, samples, n)
    inj = np.array([service[r.index % POOL] for r in recs], dtype=np.int64)
    diff = g - inj
    p = plain_loop(rnd, samples, n)
    pdiff = p - np.array([service[i % POOL] for i in range(n)], dtype=np.int64)
    within = float(np.mean(np.abs(diff) <= 50_000))
    print("\n[2] seeded random service time (uniform 1-9 ms per sample), measured - injected")
    print(f"  gapbench p50 {pct_us(diff, 50):.1f} us, p99 {pct_us(diff, 99):.1f} us, max {diff.max() / 1e3:.1f} us; "
          f"{within:.1%} of queries within 50 us ({verdict(within == 1.0)})")
    print(f"  plain loop p50 {pct_us(pdiff, 50):.1f} us, p99 {pct_us(pdiff, 99):.1f} us, "
          f"max {pdiff.max() / 1e3:.1f} us")
    lg = loadgen_latencies(rnd, samples, n)
    if lg is not None:
        print(f"  LoadGen: per-query injected times are not exposed through LoadGen's sample order here; "
              f"p50 {pct_us(lg['ns'], 50):.1f} us over {len(lg['ns'])} queries (vs gapbench {pct_us(g, 50):.1f} us)")

    # 3. server issue accuracy: a service that holds the GIL (pure-Python spin) and one that releases
    # it (time.sleep, as numpy/torch kernels and HTTP waits do): the issuer thread needs the GIL to stamp
    for label, fn in (("1 ms pure-Python spin (holds the GIL)", model_fn(lambda i: 1_000_000)),
                      ("1 ms sleep (releases the GIL)", lambda b: time.sleep(1e-3) or [[1.0, 0.0] for _ in b])):
        s = ScenarioSettings("server", min_queries=n, min_duration_s=0, qps=a.qps, latency_bound_ms=100.0,
                             warmup_queries=10, seed=a.seed)
        run = run_scenario(sut(fn), samples, s)
        delay = np.array([r.issued_ns - r.scheduled_ns for r in run.load.records], dtype=np.int64)
        d99 = pct_us(delay, 99)
        print(f"\n[3] server at {a.qps:g} QPS (Poisson, seed {a.seed}), {label}: issue time - scheduled time")
        print(f"  p50 {pct_us(delay, 50):.1f} us, p99 {d99:.1f} us, max {delay.max() / 1e3:.1f} us "
              f"(target p99 <= 1000 us: {verdict(d99 <= 1000)}); {len(delay)} queries, "
              f"end-to-end p99 {run.block['end_to_end']['p99_ms']:.3f} ms")

    # 4. harness overhead per query
    noop = model_fn(lambda i: 0)
    empty = [[x] for x in samples]
    gen = closed_loop(lambda q, rec: None, empty, min_queries=n * 10)
    gen_ns = np.array([r.done_ns - r.scheduled_ns for r in gen.records], dtype=np.int64)
    g, _, _ = gapbench_latencies(noop, samples, n * 4)
    p = plain_loop(noop, samples, n * 4)
    over = pct_us(g, 50) - pct_us(p, 50)
    print("\n[4] harness overhead per query (no-op model)")
    print(f"  load generator alone: p50 {pct_us(gen_ns, 50):.2f} us, p99 {pct_us(gen_ns, 99):.2f} us "
          f"(target < 50 us: {verdict(pct_us(gen_ns, 99) < 50)})")
    print(f"  whole pipeline (shift, preprocess, predict, postprocess, validation): p50 {pct_us(g, 50):.1f} us, "
          f"p99 {pct_us(g, 99):.1f} us; plain loop p50 {pct_us(p, 50):.2f} us; pipeline - plain p50 {over:.1f} us "
          f"(target < 50 us: {verdict(over < 50)})")
    lg = loadgen_latencies(noop, samples, n * 4)
    if lg is not None:
        print(f"  LoadGen issuing: p50 {pct_us(lg['ns'], 50):.1f} us, p99 {pct_us(lg['ns'], 99):.1f} us; "
              f"ratio gapbench/LoadGen p50 {pct_us(g, 50) / pct_us(lg['ns'], 50):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
