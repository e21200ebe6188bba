"""Benchmark: ``gapbench score coco`` against faster-coco-eval and pycocotools, as whole processes.

A seeded synthetic set (5,000 images, 80 classes, ~35k GT boxes, ~170k detections) is generated
here and written to a temporary folder; then each tool scores the files in a fresh process, the
way a user runs it (interpreter start, imports, JSON loading and output included):

* ``gapbench score coco GT DT --format json`` (the installed command; ``--no-ci`` and with the
  default 1,000-resample bootstrap CI);
* a Python process running faster-coco-eval (COCO + loadRes + COCOeval_faster
  evaluate/accumulate/summarize) on the same files;
* a Python process running pycocotools (the reference; slow).

Each is timed ``--repeat`` times (default 3) and the median is reported with every run, then the
ratios. It checks gapbench's 12 stats equal pycocotools' bit for bit, with and without CI (stats
travel as JSON floats: ``repr`` round-trips), and prints the CI run's ``info.timing_s``. The
machine may be shared: the load average is printed before and after. Run:
``.venv/bin/python benchmarks/score_coco.py [--images 5000] [--repeat 3] [--skip-pycocotools]``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def make_set(n_images: int = 5000, n_classes: int = 80, seed: int = 0) -> tuple[dict, list]:
    """GT (~7 boxes per image, 1% crowd) and detections (~34 per image: jittered hits + clutter)."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    ann_id = 1
    for img_id in range(1, n_images + 1):
        W, H = 640, 480
        images.append({"id": img_id, "width": W, "height": H, "file_name": f"{img_id:06d}.jpg"})
        n_gt = int(rng.poisson(7))
        for _ in range(n_gt):
            # log-uniform sizes cover small / medium / large
            w = float(np.exp(rng.uniform(np.log(4), np.log(400))))
            h = float(np.clip(w * np.exp(rng.normal(0, 0.4)), 2, H - 1))
            w = min(w, W - 1)
            x, y = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
            cat = int(rng.integers(1, n_classes + 1))
            crowd = int(rng.random() < 0.01)
            anns.append({
                "id": ann_id, "image_id": img_id, "category_id": cat, "bbox": [x, y, w, h],
                "area": w * h * float(rng.uniform(0.5, 1.0)), "iscrowd": crowd,
            })
            ann_id += 1
            # detections near this GT: 0-4 jittered copies, some with a wrong class
            for _ in range(int(rng.integers(0, 5))):
                j = rng.normal(0, 0.12, 4)
                dx, dy = x + j[0] * w, y + j[1] * h
                dw, dh = max(1.0, w * np.exp(j[2])), max(1.0, h * np.exp(j[3]))
                dcat = cat if rng.random() < 0.85 else int(rng.integers(1, n_classes + 1))
                dets.append({"image_id": img_id, "category_id": dcat,
                             "bbox": [round(dx, 2), round(dy, 2), round(dw, 2), round(dh, 2)],
                             "score": round(float(rng.beta(4, 2)), 3)})
        for _ in range(int(rng.poisson(20))):  # clutter
            w = float(np.exp(rng.uniform(np.log(4), np.log(300))))
            h = float(w * np.exp(rng.normal(0, 0.4)))
            dets.append({"image_id": img_id, "category_id": int(rng.integers(1, n_classes + 1)),
                         "bbox": [round(float(rng.uniform(0, W - 4)), 2),
                                  round(float(rng.uniform(0, H - 4)), 2), round(w, 2), round(h, 2)],
                         "score": round(float(rng.beta(2, 4)), 3)})
    cats = [{"id": c, "name": f"class{c}", "supercategory": "thing"} for c in range(1, n_classes + 1)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


_FCOCO = """
import json, sys
from faster_coco_eval import COCO, COCOeval_faster
gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps([float(x) for x in ev.stats[:12]]))
"""

_PYCOCO = """
import contextlib, io, json, sys
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    ev = COCOeval(gt, dt, "bbox"); ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps([float(x) for x in ev.stats[:12]]))
"""


def _gapbench_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("gapbench")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gapbench")
    return [found] if found else [sys.executable, "-m", "gapbench"]


def run_process(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return wall, out.stdout


def timed_runs(
    label: str, cmd: list[str], env: dict[str, str], repeat: int
) -> tuple[float, list[float], str]:
    walls, last = [], ""
    for _ in range(repeat):
        wall, last = run_process(cmd, env)
        walls.append(wall)
    med = statistics.median(walls)
    print(f"{label:28s} median {med:7.2f} s   runs: {', '.join(f'{w:.2f}' for w in walls)}", flush=True)
    return med, walls, last


def _gapbench_stats(stdout: str) -> tuple[np.ndarray, dict]:
    doc = json.loads(stdout)
    vals = [doc["metrics"][n]["value"] for n in NAMES]
    return np.array([np.nan if v is None else v for v in vals], dtype=float), doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pycoco-repeat", type=int, default=1, help="pycocotools runs (~1 min each)")
    ap.add_argument("--skip-pycocotools", action="store_true")
    args = ap.parse_args()

    gt, dt = make_set(args.images)
    print(f"set: {len(gt['images'])} images, {len(gt['categories'])} classes, "
          f"{len(gt['annotations'])} GT, {len(dt)} detections; load average {os.getloadavg()}")
    env = dict(os.environ, GAPBENCH_NO_PROGRESS="1")
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, dt_path = Path(tmp) / "gt.json", Path(tmp) / "dt.json"
        gt_path.write_text(json.dumps(gt))
        dt_path.write_text(json.dumps(dt))
        del gt, dt
        files = [str(gt_path), str(dt_path)]
        gb = [*_gapbench_cmd(), "score", "coco", *files, "--format", "json"]
        run_process([sys.executable, "-c", _FCOCO, *files], env)  # warm the file cache
        t_fc, _, out_fc = timed_runs("faster-coco-eval", [sys.executable, "-c", _FCOCO, *files], env,
                                     args.repeat)
        t_gb, _, out_gb = timed_runs("gapbench --no-ci", [*gb, "--no-ci"], env, args.repeat)
        t_ci, _, out_ci = timed_runs("gapbench (1000-resample CI)", gb, env, args.repeat)
        s_fc = np.array(json.loads(out_fc), dtype=float)
        s_gb, _ = _gapbench_stats(out_gb)
        s_ci, doc_ci = _gapbench_stats(out_ci)
        print(f"ratio to faster-coco-eval: no CI {t_gb / t_fc:5.2f}x (target <= 1.15), "
              f"with CI {t_ci / t_fc:5.2f}x (target <= 2)")
        timing = doc_ci["info"].get("timing_s", {})
        print("  gapbench+CI info.timing_s:", ", ".join(f"{k} {v:.3f}s" for k, v in timing.items()))
        same = np.array_equal(s_gb, s_ci, equal_nan=True)
        n_fc = int(np.sum(s_gb != s_fc))
        d_fc = float(np.max(np.abs(s_gb - s_fc)))
        print(f"stats differing from faster-coco-eval's: {n_fc} (max |diff| {d_fc:.3g})")
        if not args.skip_pycocotools:
            t_pc, _, out_pc = timed_runs("pycocotools", [sys.executable, "-c", _PYCOCO, *files], env,
                                         args.pycoco_repeat)
            s_pc = np.where(np.array(json.loads(out_pc)) <= -1, np.nan, np.array(json.loads(out_pc)))
            print(f"pycocotools / gapbench --no-ci {t_pc / t_gb:5.2f}x")
            same = same and np.array_equal(s_pc, s_gb, equal_nan=True)
            print("stats identical to pycocotools (bit for bit, with and without CI):", same)
        else:
            print("stats identical with and without CI (pycocotools skipped):", same)
        for n, v in zip(NAMES, s_gb):
            ci = doc_ci["metrics"][n]["ci95"]
            print(f"  {n:6s} {v:.6f}" + ("" if ci is None else f"  [{ci[0]:.4f}, {ci[1]:.4f}]"))
        for note in doc_ci.get("notes", []):
            print("  note:", note)
        print(f"load average after: {os.getloadavg()}")
        if not same:
            raise SystemExit("stats differ")


if __name__ == "__main__":
    main()
