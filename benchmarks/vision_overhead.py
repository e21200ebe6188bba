"""Benchmark: gapbench running rapidocr over the embedded ``ocr-scenes`` vs a plain loop, as processes.

Both sides are whole Python processes, timed from the outside (median of ``--repeats``):

* ``plain``: import rapidocr, build the engine with the adapter's settings, read the same scenes
  (the embedded data set's cache, built beforehand), call the engine on each image (BGR uint8)
  in one loop -- what a user would write by hand;
* ``gapbench``: ``gapbench run ocr-scenes --model rapidocr --no-cache --batch-size N`` into a
  temporary output directory (pipeline, prefetch, metric with 1,000-resample intervals, JSON, SQLite
  store), and the same with ``--no-ci``.

Target: gapbench / plain <= 1.05 (overhead <= 5%). The line counts read by both sides are
checked to be equal. Run: ``.venv/bin/python benchmarks/vision_overhead.py [--limit 16] [--repeats 3]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = """
import sys
from gapbench.data.ocr_scenes import ocr_scenes
from gapbench.models.rapidocr_model import SETTINGS, _as_bgr_uint8
from rapidocr import RapidOCR
engine = RapidOCR(params=dict(SETTINGS))
lines = 0
for s in ocr_scenes()[: int(sys.argv[1])]:
    out = engine(_as_bgr_uint8(s.input))
    lines += 0 if out.txts is None else len(out.txts)
print(lines)
"""


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    env = {**os.environ, "GAPBENCH_NO_PROGRESS": "1"}
    py = sys.executable
    subprocess.run([py, "-c", "from gapbench.data.ocr_scenes import ocr_scenes; ocr_scenes()"], env=env, check=True)
    plain, gb, gb_noci = [], [], []
    lines_plain = lines_gb = None
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            s, out = _timed([py, "-c", PLAIN, str(args.limit)], env)
            plain.append(s)
            lines_plain = int(out.strip().splitlines()[-1])
            base = [py, "-m", "gapbench", "run", "ocr-scenes", "--model", "rapidocr", "--no-cache",
                    "--limit", str(args.limit), "--batch-size", str(args.limit), "--format", "json",
                    "--out", str(Path(tmp) / f"o{r}"), "--store", f"sqlite:///{tmp}/s{r}.db"]
            s, out = _timed(base, env)
            gb.append(s)
            doc = json.loads(out)
            lines_gb = int(doc["results"][0]["metrics"]["predicted_lines"]["value"])
            s, _ = _timed(base[:-4] + ["--out", str(Path(tmp) / f"n{r}"), "--store", f"sqlite:///{tmp}/n{r}.db",
                                       "--no-ci"], env)
            gb_noci.append(s)
    if lines_plain != lines_gb:
        print(f"WARNING: line counts differ: plain {lines_plain}, gapbench {lines_gb}")
    mp, mg, mn = statistics.median(plain), statistics.median(gb), statistics.median(gb_noci)
    print(f"images: {args.limit}, repeats: {args.repeats}, lines read: {lines_plain}")
    print(f"plain loop process        {mp:7.2f} s")
    print(f"gapbench run (CI)         {mg:7.2f} s   ratio {mg / mp:.3f}")
    print(f"gapbench run (--no-ci)    {mn:7.2f} s   ratio {mn / mp:.3f}")
    print("target: ratio <= 1.05")


if __name__ == "__main__":
    main()
