"""Benchmark: the 19 ImageNet-C corruptions x 5 severities, gapbench against ``imagecorruptions`` 1.1.2.

One 224 x 224 RGB image (scikit-image's ``astronaut``, resized). For every corruption and
severity, the median of ``--repeats`` calls of each side (after one warm-up call); the reference is
``imagecorruptions.corrupt`` made importable by the shims in ``tests/shifts/imagec_reference.py``
(install it with ``pip install --no-deps imagecorruptions==1.1.2``). Prints per-corruption times
(summed over the 5 severities) and ratios, and the overall ratio of the whole suite.

Targets: overall >= 5x faster than the reference; no corruption slower than 1.25x the reference.
Run: ``.venv/bin/python benchmarks/corruptions.py [--size 224] [--repeats 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "shifts"))


def _median_time(fn, repeats: int) -> float:  # noqa: ANN001
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from imagec_reference import load_reference
    from skimage import data, transform

    from gapbench.shifts.image import corrupt, get_corruption_names

    ref = load_reference()
    if ref is None:
        print("imagecorruptions 1.1.2 is not importable: pip install --no-deps imagecorruptions==1.1.2")
        return 2
    image = (transform.resize(data.astronaut(), (args.size, args.size), anti_aliasing=True) * 255).astype(
        np.uint8
    )

    def ours(name: str, s: int) -> None:
        corrupt(image, s, name, seed=0)

    def theirs(name: str, s: int) -> None:
        np.random.seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref.corrupt(image, corruption_name=name, severity=s)

    rows = []
    for name in get_corruption_names("all"):
        t_ours = sum(_median_time(lambda name=name, s=s: ours(name, s), args.repeats) for s in range(1, 6))
        t_ref = sum(_median_time(lambda name=name, s=s: theirs(name, s), args.repeats) for s in range(1, 6))
        rows.append(
            {
                "corruption": name,
                "gapbench_ms": 1e3 * t_ours,
                "reference_ms": 1e3 * t_ref,
                "speedup": t_ref / t_ours,
            }
        )
    total_ours = sum(r["gapbench_ms"] for r in rows)
    total_ref = sum(r["reference_ms"] for r in rows)
    print(f"{args.size}x{args.size} astronaut, median of {args.repeats}, summed over severities 1-5")
    print(f"{'corruption':<18} {'gapbench ms':>12} {'reference ms':>13} {'speedup':>8}")
    for r in rows:
        ms = f"{r['gapbench_ms']:>12.1f} {r['reference_ms']:>13.1f}"
        print(f"{r['corruption']:<18} {ms} {r['speedup']:>7.2f}x")
    print(f"{'ALL (19 x 5)':<18} {total_ours:>12.1f} {total_ref:>13.1f} {total_ref / total_ours:>7.2f}x")
    slowest = min(rows, key=lambda r: r["speedup"])
    print(f"slowest relative: {slowest['corruption']} at {1 / slowest['speedup']:.2f}x the reference's time")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "overall_speedup": total_ref / total_ours}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
