"""Benchmark: response-cache hits with the batched ``last_used`` touch against hits without it.

A rerun served from the cache must not get slower because entries now record when they were last
used. Each measurement is a whole process: open the cache, look up ``--entries`` keys in batches
of ``--batch`` (as the pipeline does), close (which writes the noted touches). The peer is the
same process with the touch switched off (``ResponseCache._lru = False`` after opening: exactly
the code path of the cache before ``last_used``). Two cases: entries used within the last hour
(``TOUCH_RESOLUTION_S``: nothing is written; a rerun) and entries last used a day ago (every hit
is rewritten once, in batches: the first rerun after a while). Prints the median wall time of
``--repeats`` processes each and the ratios.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/cache_hits.py [--entries 50000] [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
from gapbench.runner.cache import CacheKey, ResponseCache
path, n, batch, touch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
keys = [f"k{i}" for i in range(n)]
t0 = time.perf_counter()
rc = ResponseCache(path)
rc._lru = rc._lru and touch
hits = 0
for i in range(0, n, batch):
    hits += len(rc.get_many(CacheKey("bench"), keys[i:i + batch]))
rc.close()
assert hits == n, hits
print(time.perf_counter() - t0)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from gapbench.runner.cache import CacheKey, ResponseCache

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "c.sqlite")
        with ResponseCache(path) as rc:
            rc.put_many(CacheKey("bench"), [(f"k{i}", {"scores": [0.1] * 10}, {"inference": 0.001})
                                            for i in range(args.entries)])
        times: dict[str, list[float]] = {}
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits all alike
            for label, flag in (("stale: touch", "1"), ("no touch", "0"), ("recent: touch", "1")):
                if label.startswith("stale"):  # every entry last used a day ago: every hit is rewritten
                    with sqlite3.connect(path) as conn:
                        conn.execute("UPDATE responses_v2 SET last_used = last_used - 86400")
                t0 = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", CHILD, path, str(args.entries), str(args.batch), flag],
                                     check=True, capture_output=True, text=True)
                times.setdefault(label, []).append(time.perf_counter() - t0)
                times[label + " (in-process)"] = times.get(label + " (in-process)", []) + [float(out.stdout)]
        for label, ts in times.items():
            print(f"{label:24s} median {statistics.median(ts):.4f} s over {len(ts)} processes")
        for case in ("recent", "stale"):
            ratio = statistics.median(times[f"{case}: touch"]) / statistics.median(times["no touch"])
            inner = (statistics.median(times[f"{case}: touch (in-process)"])
                     / statistics.median(times["no touch (in-process)"]))
            print(f"{case} entries, touch / no touch: whole process {ratio:.3f}x, cache work only {inner:.3f}x "
                  f"({args.entries} hits in batches of {args.batch})")


if __name__ == "__main__":
    main()
