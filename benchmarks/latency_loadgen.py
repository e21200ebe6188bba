"""gapbench's load generator against MLPerf LoadGen (PyPI ``mlcommons-loadgen``) on the same model.

The model is a Python function with a fixed service time per query: ``time.sleep`` by default
(it releases the GIL, as numpy/torch/ONNX models do), or a busy-wait with ``--model spin``. Each engine
runs in its own process (whole processes, nothing shared):

* ``plain``: a bare ``for`` loop timing ``fn(batch)`` -- the model's own cost, the floor;
* ``loadgen``: LoadGen's SingleStream (completions inline in ``issue_queries``) and Server (a worker
  thread completes queries; LoadGen issues on its Poisson schedule);
* ``gapbench``: ``run_scenario`` on the whole pipeline (PythonCallableModel -> Pipeline with
  ``cache=None``: preprocess, predict, postprocess, validation of the class scores).

It prints p50/p90/p99 and QPS of each engine, the gapbench/LoadGen ratios (agreement of the measured
latencies) and gapbench's overhead per query (its mean latency minus the plain loop's).

    python benchmarks/latency_loadgen.py [--service-ms 2] [--queries 2000] [--qps 200] [--server-s 5]

Measured on the 2-CPU build machine (shared, load average 4-7), 2 ms model, mlcommons-loadgen 6.0.17:
sleep model, 2000 queries / 200 QPS x 10 s: single-stream gapbench/LoadGen p50 1.022, p90 1.052,
p99 1.068, QPS 0.974, gapbench overhead 60 us per query over the plain loop (the whole pipeline:
preprocess, postprocess, score validation, harness); server p50 1.040, p99 1.153, QPS 1.005.
spin model (holds the GIL): single-stream p50 1.011, p99 1.027; server p50 1.354, p99 1.176.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def make_model(service_s: float, kind: str = "sleep"):
    """``sleep``: ``time.sleep`` (releases the GIL, like a model running in C/on a device);
    ``spin``: a Python busy-wait (holds the GIL: a worst case for any threaded Python harness)."""
    def sleep(batch):
        time.sleep(service_s)
        return [[1.0, 0.0] for _ in batch]

    def spin(batch):
        end = time.perf_counter() + service_s
        while time.perf_counter() < end:
            pass
        return [[1.0, 0.0] for _ in batch]

    return sleep if kind == "sleep" else spin


def _pct(values_s):
    import numpy as np

    v = np.asarray(values_s)
    p = np.percentile(v, [50, 90, 99]) * 1e3
    return {"p50_ms": p[0], "p90_ms": p[1], "p99_ms": p[2], "mean_ms": v.mean() * 1e3}


def run_plain(args) -> dict:
    fn = make_model(args.service_ms / 1e3, args.model)
    for _ in range(10):
        fn([0])
    lat = []
    t_start = time.perf_counter()
    for _ in range(args.queries):
        t0 = time.perf_counter()
        fn([0])
        lat.append(time.perf_counter() - t0)
    return {**_pct(lat), "qps": args.queries / (time.perf_counter() - t_start)}


def run_gapbench(args) -> dict:
    import numpy as np

    from gapbench.core.sample import Sample
    from gapbench.latency.scenarios import ScenarioSettings, SystemUnderTest, run_scenario
    from gapbench.models.python_callable import PythonCallableModel

    pool = [Sample(f"s{i}", np.zeros((8, 8), np.uint8), 0) for i in range(64)]
    sut = SystemUnderTest(PythonCallableModel(make_model(args.service_ms / 1e3, args.model), name="python:spin"),
                          "image-classification", num_classes=2)
    if args.scenario == "single-stream":
        s = ScenarioSettings("single-stream", min_queries=args.queries, min_duration_s=0, warmup_queries=10)
    else:
        s = ScenarioSettings("server", min_queries=args.queries, min_duration_s=args.server_s, qps=args.qps,
                             latency_bound_ms=1000, warmup_queries=10, seed=args.seed)
    b = run_scenario(sut, pool, s).block
    e = b["end_to_end"]
    return {"p50_ms": e["p50_ms"], "p90_ms": e["p90_ms"], "p99_ms": e["p99_ms"], "mean_ms": e["mean_ms"],
            "qps": b["throughput"]["queries_per_s"], "queries": b["queries"],
            "issue_delay_p99_ms": (b.get("issue_delay") or {}).get("p99_ms")}


def run_loadgen(args) -> dict:
    import queue

    import mlperf_loadgen as lg

    fn = make_model(args.service_ms / 1e3, args.model)
    settings = lg.TestSettings()
    settings.mode = lg.TestMode.PerformanceOnly
    work: queue.SimpleQueue = queue.SimpleQueue()
    if args.scenario == "single-stream":
        settings.scenario = lg.TestScenario.SingleStream
        settings.single_stream_expected_latency_ns = int(args.service_ms * 1e6)
        settings.min_query_count = settings.max_query_count = args.queries
        settings.min_duration_ms = 0

        def issue(samples):  # LoadGen's issue thread; SingleStream completes inline
            fn([s.index for s in samples])
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])
    else:
        settings.scenario = lg.TestScenario.Server
        settings.server_target_qps = args.qps
        settings.server_target_latency_ns = int(1e9)
        settings.min_query_count = args.queries
        settings.min_duration_ms = int(args.server_s * 1e3)
        settings.schedule_rng_seed = args.seed

        def issue(samples):  # return at once; the worker completes (open loop)
            work.put(samples)

        def worker():
            while True:
                samples = work.get()
                if samples is None:
                    return
                fn([s.index for s in samples])
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

        th = threading.Thread(target=worker, daemon=True)
        th.start()
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(64, 64, lambda idx: None, lambda idx: None)
    with tempfile.TemporaryDirectory() as out:
        log = lg.LogOutputSettings()
        log.outdir = out
        log.copy_summary_to_stdout = False
        ls = lg.LogSettings()
        ls.log_output = log
        t0 = time.perf_counter()
        lg.StartTestWithLogSettings(sut, qsl, settings, ls)
        wall = time.perf_counter() - t0
        summary = (Path(out) / "mlperf_log_summary.txt").read_text()
    if args.scenario == "server":
        work.put(None)
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)

    def grab(label: str) -> float:
        m = re.search(rf"^{re.escape(label)}\s*:\s*([0-9.eE+-]+)", summary, re.MULTILINE)
        if not m:
            raise SystemExit(f"loadgen summary has no {label!r}:\n{summary}")
        return float(m.group(1))

    qps_label = "QPS w/o loadgen overhead" if args.scenario == "single-stream" else "Completed samples per second"
    return {"p50_ms": grab("50.00 percentile latency (ns)") / 1e6,
            "p90_ms": grab("90.00 percentile latency (ns)") / 1e6,
            "p99_ms": grab("99.00 percentile latency (ns)") / 1e6, "mean_ms": grab("Mean latency (ns)") / 1e6,
            "qps": grab(qps_label), "wall_s": wall}


def child(args) -> None:
    result = {"plain": run_plain, "gapbench": run_gapbench, "loadgen": run_loadgen}[args.engine](args)
    sys.stdout.write(json.dumps(result) + "\n")


def spawn(engine: str, scenario: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--scenario", scenario,
           "--service-ms", str(args.service_ms), "--queries", str(args.queries), "--qps", str(args.qps),
           "--server-s", str(args.server_s), "--seed", str(args.seed), "--model", args.model]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "GAPBENCH_NO_PROGRESS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"{engine} {scenario} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--service-ms", type=float, default=2.0)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--qps", type=float, default=200.0)
    ap.add_argument("--server-s", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", choices=("sleep", "spin"), default="sleep")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--scenario", default="single-stream", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    print(f"model: {args.model} {args.service_ms} ms per query; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs; single-stream {args.queries} queries; "
          f"server {args.qps} QPS for >= {args.server_s} s and >= {args.queries} queries (seed {args.seed})")
    plain = spawn("plain", "single-stream", args)
    print(f"{'scenario':14} {'engine':9} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'QPS':>9}")
    print(f"{'(model only)':14} {'plain':9} {plain['p50_ms']:9.4f} {plain['p90_ms']:9.4f} {plain['p99_ms']:9.4f} "
          f"{plain['mean_ms']:9.4f} {plain['qps']:9.1f}")
    for scenario in ("single-stream", "server"):
        res = {e: spawn(e, scenario, args) for e in ("loadgen", "gapbench")}
        for e, r in res.items():
            print(f"{scenario:14} {e:9} {r['p50_ms']:9.4f} {r['p90_ms']:9.4f} {r['p99_ms']:9.4f} "
                  f"{r['mean_ms']:9.4f} {r['qps']:9.1f}")
        g, lgr = res["gapbench"], res["loadgen"]
        ratios = "  ".join(f"{k[:-3]} {g[k] / lgr[k]:.3f}" for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms"))
        print(f"{scenario:14} {'ratio':9} gapbench/loadgen: {ratios}  qps {g['qps'] / lgr['qps']:.3f}")
        over_g, over_l = (g["mean_ms"] - plain["mean_ms"]) * 1e3, (lgr["mean_ms"] - plain["mean_ms"]) * 1e3
        print(f"{scenario:14} overhead per query vs the plain loop (mean): gapbench {over_g:.1f} us, "
              f"loadgen {over_l:.1f} us"
              + (f"; gapbench issue delay p99 {g['issue_delay_p99_ms'] * 1e3:.1f} us"
                 if g.get("issue_delay_p99_ms") is not None else ""))


if __name__ == "__main__":
    main()
