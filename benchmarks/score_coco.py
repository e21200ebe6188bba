"""Benchmark: ``gapbench score coco`` against faster-coco-eval and pycocotools.

A seeded synthetic set (5,000 images, 80 classes, ~35k GT boxes, ~170k detections) is generated
here, written to a temporary folder, and scored from the files by each tool in one run:

* gapbench ``score_coco`` without CI, and with the 1,000-resample bootstrap CI;
* faster-coco-eval (COCO + loadRes + COCOeval_faster evaluate/accumulate/summarize);
* pycocotools (the reference; slow).

It prints the times, the ratios and checks gapbench's 12 stats equal pycocotools' bit for bit
(with and without CI), and how many differ from faster-coco-eval's (by an ulp). Run:
``.venv/bin/python benchmarks/score_coco.py [--images 5000] [--skip-pycocotools]``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
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


def run_fcoco(gt_path: Path, dt_path: Path) -> np.ndarray:
    from faster_coco_eval import COCO, COCOeval_faster

    gt = COCO(str(gt_path))
    dt = gt.loadRes(str(dt_path))
    ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats[:12], dtype=float)


def run_pycocotools(gt_path: Path, dt_path: Path) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(str(dt_path))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:12], dtype=float)


def run_gapbench(gt_path: Path, dt_path: Path, ci: bool) -> tuple[np.ndarray, object]:
    from gapbench.metrics.coco import score_coco

    res = score_coco(gt_path, dt_path, iou_type="bbox", bootstrap=1000, seed=0, ci=ci)
    stats = np.array([res.metrics[n].value for n in NAMES], dtype=float)
    return stats, res


def timed(fn, *args, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-pycocotools", action="store_true")
    args = ap.parse_args()
    logging.disable(logging.WARNING)

    gt, dt = make_set(args.images)
    print(f"set: {len(gt['images'])} images, {len(gt['categories'])} classes, "
          f"{len(gt['annotations'])} GT, {len(dt)} detections")
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, dt_path = Path(tmp) / "gt.json", Path(tmp) / "dt.json"
        gt_path.write_text(json.dumps(gt))
        dt_path.write_text(json.dumps(dt))
        del gt, dt
        run_gapbench(gt_path, dt_path, False)  # warm imports
        run_fcoco(gt_path, dt_path)
        t_fc, s_fc = timed(run_fcoco, gt_path, dt_path, repeat=args.repeat)
        t_gb, (s_gb, _) = timed(run_gapbench, gt_path, dt_path, False, repeat=args.repeat)
        t_ci, (s_ci, res_ci) = timed(run_gapbench, gt_path, dt_path, True, repeat=args.repeat)
        print(f"faster-coco-eval          {t_fc:8.3f} s")
        print(f"gapbench (no CI)          {t_gb:8.3f} s   "
              f"ratio to faster-coco-eval {t_gb / t_fc:5.2f}x (target <= 1.15)")
        print(f"gapbench (1000-resample)  {t_ci:8.3f} s   "
              f"ratio to faster-coco-eval {t_ci / t_fc:5.2f}x (target <= 2)")
        timing = res_ci.info.get("timing_s")
        if timing:
            print("  gapbench+CI stages:", ", ".join(f"{k} {v:.3f}s" for k, v in timing.items()))
        # gapbench's point values are pycocotools' to the last bit, with or without CI;
        # faster-coco-eval's can be 1 ulp off (precision 1.0 where pycocotools has 1/(1+eps))
        same = np.array_equal(s_gb, s_ci, equal_nan=True)
        n_fc, d_fc = int(np.sum(s_gb != s_fc)), float(np.max(np.abs(s_gb - s_fc)))
        print(f"stats differing from faster-coco-eval's: {n_fc} (max |diff| {d_fc:.3g})")
        if not args.skip_pycocotools:
            t_pc, s_pc = timed(run_pycocotools, gt_path, dt_path)
            print(f"pycocotools               {t_pc:8.3f} s   pycocotools / gapbench {t_pc / t_gb:5.2f}x")
            same = same and np.array_equal(s_pc, s_gb, equal_nan=True)
            print("stats identical to pycocotools (bit for bit, with and without CI):", same)
        else:
            print("stats identical with and without CI (pycocotools skipped):", same)
        for n, v in zip(NAMES, s_gb):
            mv = res_ci.metrics[n]
            ci = "" if mv.ci95 is None else f"  [{mv.ci95[0]:.4f}, {mv.ci95[1]:.4f}]"
            print(f"  {n:6s} {v:.6f}{ci}")
        if not same:
            raise SystemExit("stats differ")


if __name__ == "__main__":
    main()
