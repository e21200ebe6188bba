"""Benchmark: ``onnx:`` ``yolo-seg`` instance masks against Ultralytics' own steps written with torch.

The peer is Ultralytics' ``process_mask(..., upsample=True)`` followed by ``scale_masks`` (the
letterbox padding sliced off, bilinear resize to the image), written here with torch ops as
``ultralytics/utils/ops.py`` does (torch CPU, float32 as Ultralytics runs, all masks at once).
gapbench's :func:`gapbench.models.onnx_masks.instance_masks` does the same in numpy float64, one
detection at a time, only over the output pixels the cropped prototypes reach. Inputs: a
YOLO11-seg-shaped output (32 x 160 x 160 prototypes, a 640 x 640 input) and ``--n`` detections of
random size on a letterboxed 480 x 640 image. Prints best-of-``--repeats`` wall times, the ratio
(gapbench / peer: below 1 is faster) and how many pixels differ (float32 vs float64 near the
threshold only).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/onnx_seg_masks.py [--n 100] [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from gapbench.models.onnx_masks import instance_masks, letterbox_geometry


def peer(coeffs: np.ndarray, protos: np.ndarray, boxes: np.ndarray, size: tuple[int, int],
         orig: tuple[int, int]) -> np.ndarray:
    """Ultralytics' process_mask (upsample=True) + scale_masks, torch float32, padding of the letterbox."""
    import torch
    import torch.nn.functional as F

    m, mh, mw = protos.shape
    p, c, b = torch.from_numpy(protos.astype(np.float32)), torch.from_numpy(coeffs.astype(np.float32)), \
        torch.from_numpy(boxes.astype(np.float32))
    masks = (c @ p.view(m, -1)).view(-1, mh, mw)
    down = b * torch.tensor([mw / size[1], mh / size[0]] * 2)
    x1, y1, x2, y2 = torch.chunk(down[:, :, None], 4, 1)
    r = torch.arange(mw, dtype=x1.dtype)[None, None, :]
    cc = torch.arange(mh, dtype=x1.dtype)[None, :, None]
    masks = masks * ((r >= x1) * (r < x2) * (cc >= y1) * (cc < y2))
    masks = F.interpolate(masks[None], size, mode="bilinear", align_corners=False)[0]
    g = letterbox_geometry(orig, size)
    masks = masks[None, :, g.top:g.top + g.height, g.left:g.left + g.width]
    return F.interpolate(masks, orig, mode="bilinear", align_corners=False)[0].gt(0.0).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    size, orig = (640, 640), (480, 640)
    protos = rng.normal(size=(32, 160, 160)).astype(np.float32)
    coeffs = (rng.normal(size=(args.n, 32)) * 0.3).astype(np.float32)
    x0, y0 = rng.uniform(0, 560, args.n), rng.uniform(80, 480, args.n)
    bw, bh = rng.uniform(10, 200, args.n), rng.uniform(10, 200, args.n)
    boxes = np.stack([x0, y0, np.minimum(x0 + bw, 640), np.minimum(y0 + bh, 560)], 1)
    g = letterbox_geometry(orig, size)

    def best(fn) -> tuple[float, object]:
        times, out = [], None
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out

    t_ours, ours = best(lambda: instance_masks(coeffs, protos, boxes, size, orig, g))
    try:
        t_peer, theirs = best(lambda: peer(coeffs, protos, boxes, size, orig))
    except ImportError:
        print(f"gapbench: {t_ours * 1e3:.1f} ms for {args.n} masks ({orig[0]}x{orig[1]}); torch missing: no peer")
        return
    diff = int(sum((a != b).sum() for a, b in zip(ours, theirs)))
    total = int(sum(a.sum() for a in ours))
    print(f"gapbench {t_ours * 1e3:.1f} ms, Ultralytics steps in torch {t_peer * 1e3:.1f} ms, "
          f"ratio {t_ours / t_peer:.2f} ({args.n} masks, {orig[0]}x{orig[1]}); "
          f"{diff} of {total} mask pixels differ (float32 peer)")


if __name__ == "__main__":
    main()
