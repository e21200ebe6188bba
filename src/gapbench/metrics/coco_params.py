"""The COCOeval ``Params`` users change, and the keypoint (OKS) specifics, stated once.

pycocotools' ``COCOeval.params`` is a mutable object people edit between construction and
``evaluate()``: IoU thresholds (``iouThrs``), ``maxDets``, area ranges (``areaRng`` with
``areaRngLbl``) and, for keypoints, ``kpt_oks_sigmas``. :class:`CocoParams` is that edit as a
value (so it can be validated, recorded in a result and applied to the engine identically).
``summarize()`` in pycocotools reads fixed labels and positions -- ``iouThr=.5`` / ``.75`` by
exact float equality, area labels ``small`` / ``medium`` / ``large``, ``maxDets[0..2]`` for
boxes and masks and the literal ``maxDets=20`` for keypoints -- so a change is accepted only in
the shape those stats can read (the values change, the labels stay); a stat whose threshold is
not among the IoU thresholds is undefined there (``-1``) and reported as null.

Keypoints (Ronchi & Perona 2017; ``COCOeval.computeOks``): OKS with per-keypoint sigmas, the 17
COCO person sigmas by default; a GT with ``num_keypoints == 0`` is ignored like a crowd region
(``_prepare``), but matched at most once; 10 stats (``summarizeKps``), area ranges
all/medium/large, maxDets 20.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapbench.errors import InputError

# pycocotools' Params.setKpParams(): the COCO person keypoint sigmas (Ronchi & Perona 2017)
COCO_KPT_SIGMAS: tuple[float, ...] = tuple(np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0)
KP_STAT_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
DET_AREAS = ("all", "small", "medium", "large")
KP_AREAS = ("all", "medium", "large")


@dataclass(frozen=True)
class CocoParams:
    """Changes to COCOeval's default ``Params`` (None: pycocotools' default for the IoU type)."""

    iou_thrs: tuple[float, ...] | None = None
    max_dets: tuple[int, ...] | None = None
    area_rng: dict[str, tuple[float, float]] = field(default_factory=dict)  # label -> (lo, hi)
    kpt_sigmas: tuple[float, ...] | None = None

    def is_default(self) -> bool:
        return self.iou_thrs is None and self.max_dets is None and not self.area_rng and self.kpt_sigmas is None

    def check(self, iou_type: str) -> None:
        """One InputError for a change pycocotools' ``summarize()`` cannot read."""
        if self.iou_thrs is not None:
            if not self.iou_thrs or not all(math.isfinite(t) and 0 <= t <= 1 for t in self.iou_thrs):
                raise InputError(None, "--iou-thrs", "IoU thresholds in [0, 1]", list(self.iou_thrs))
            if list(self.iou_thrs) != sorted(set(self.iou_thrs)):
                raise InputError(None, "--iou-thrs", "increasing IoU thresholds", list(self.iou_thrs))
        if self.max_dets is not None:
            md = list(self.max_dets)
            if not md or any(type(m) is not int or m < 1 for m in md) or md != sorted(set(md)):
                raise InputError(None, "--max-dets", "increasing positive integers", md)
            if iou_type == "keypoints" and 20 not in md:
                raise InputError(None, "--max-dets", "a list holding 20 (pycocotools' keypoint summary reads "
                                 "maxDets=20)", md)
            if iou_type != "keypoints" and len(md) != 3:
                raise InputError(None, "--max-dets", "three values (summarize() reads maxDets[0], [1] and [2])", md)
        labels = KP_AREAS if iou_type == "keypoints" else DET_AREAS
        for lbl, (lo, hi) in self.area_rng.items():
            if lbl not in labels:
                raise InputError(None, "--area-range", f"a label among {', '.join(labels)} "
                                 "(summarize() reads those names)", lbl)
            if not (math.isfinite(lo) and lo >= 0 and (hi > lo)):
                raise InputError(None, "--area-range", "0 <= low < high", f"{lbl}={lo}:{hi}")
        if self.kpt_sigmas is not None:
            if iou_type != "keypoints":
                raise InputError(None, "--kpt-sigmas", "--iou-type keypoints (sigmas are for OKS)", iou_type)
            if not self.kpt_sigmas or not all(math.isfinite(s) and s > 0 for s in self.kpt_sigmas):
                raise InputError(None, "--kpt-sigmas", "positive finite sigmas", list(self.kpt_sigmas))

    def sigmas(self) -> tuple[float, ...]:
        return self.kpt_sigmas if self.kpt_sigmas is not None else COCO_KPT_SIGMAS

    def apply(self, params: Any) -> None:
        """Set the changes on a COCOeval ``Params`` object (pycocotools' or the engine's)."""
        if self.iou_thrs is not None:
            params.iouThrs = np.asarray(self.iou_thrs, dtype=float)
        if self.max_dets is not None:
            params.maxDets = list(self.max_dets)
        if self.area_rng:
            rng = [list(r) for r in params.areaRng]
            for lbl, (lo, hi) in self.area_rng.items():
                rng[list(params.areaRngLbl).index(lbl)] = [float(lo), float(hi)]
            params.areaRng = rng
        if self.kpt_sigmas is not None:
            params.kpt_oks_sigmas = np.asarray(self.kpt_sigmas, dtype=float)

    def describe(self) -> dict[str, Any]:
        """The changes as JSON for a result's ``info`` (only what was changed)."""
        out: dict[str, Any] = {}
        if self.iou_thrs is not None:
            out["iou_thrs"] = list(self.iou_thrs)
        if self.max_dets is not None:
            out["max_dets"] = list(self.max_dets)
        if self.area_rng:
            out["area_rng"] = {k: list(v) for k, v in self.area_rng.items()}
        if self.kpt_sigmas is not None:
            out["kpt_sigmas"] = list(self.kpt_sigmas)
        return out


def parse_params(
    iou_thrs: str | None = None, max_dets: str | None = None, area_ranges: list[str] | None = None,
    kpt_sigmas: str | None = None,
) -> CocoParams:
    """CLI text (``"0.5,0.75"``, ``"1,10,300"``, ``["small=0:1024"]``, ``"0.026,..."``) as :class:`CocoParams`."""
    def floats(text: str, opt: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise InputError(None, opt, "comma-separated numbers", text) from None

    md = None
    if max_dets is not None:
        try:
            md = tuple(int(v) for v in max_dets.split(",") if v.strip())
        except ValueError:
            raise InputError(None, "--max-dets", "comma-separated integers", max_dets) from None
    rng: dict[str, tuple[float, float]] = {}
    for item in area_ranges or []:
        lbl, eq, span = item.partition("=")
        lo, colon, hi = span.partition(":")
        try:
            if not (eq and colon):
                raise ValueError
            rng[lbl.strip()] = (float(lo), float(hi) if hi.strip().lower() not in ("", "inf") else 1e10)
        except ValueError:
            raise InputError(None, "--area-range", "LABEL=LOW:HIGH (e.g. small=0:1024)", item) from None
    return CocoParams(floats(iou_thrs, "--iou-thrs") if iou_thrs is not None else None, md, rng,
                      floats(kpt_sigmas, "--kpt-sigmas") if kpt_sigmas is not None else None)


def gt_ignored(gts: list[dict[str, Any]], iou_type: str) -> np.ndarray:
    """pycocotools' ``_prepare`` ignore flag per GT: ``iscrowd``, and for keypoints ``num_keypoints == 0``."""
    n = len(gts)
    crowd = np.fromiter((bool(g.get("iscrowd", 0)) for g in gts), bool, n)
    if iou_type == "keypoints":
        crowd |= np.fromiter((g.get("num_keypoints", 0) == 0 for g in gts), bool, n)
    return crowd


def check_keypoints(gt: dict[str, Any], dt: list[dict[str, Any]], gt_file: str, dt_file: str,
                    sigmas: tuple[float, ...]) -> None:
    """Every GT annotation and detection holds ``3 * len(sigmas)`` finite keypoint numbers
    (``x, y, v``); GT ``num_keypoints`` a non-negative integer and a ``bbox`` (OKS reads it when a
    GT has no labelled point). The engines index these unchecked: a wrong number or a crash."""
    k3 = 3 * len(sigmas)

    def points(rec_obj: dict[str, Any], file: str, rec: str) -> None:
        kp = rec_obj.get("keypoints")
        if not (isinstance(kp, list) and len(kp) == k3 and all(type(v) in (int, float) and math.isfinite(v)
                                                                for v in kp)):
            got = f"{len(kp)} numbers" if isinstance(kp, list) else kp
            raise InputError(file, rec, f"'keypoints' as {k3} finite numbers (x, y, v for {len(sigmas)} "
                             "points, one per sigma)", got)

    for i, a in enumerate(gt["annotations"]):
        rec = f"annotation index {i} (id {a.get('id')!r})"
        points(a, gt_file, rec)
        nk = a.get("num_keypoints")
        if type(nk) is not int or nk < 0:
            raise InputError(gt_file, rec, "'num_keypoints' a non-negative integer", nk)
        if "bbox" not in a:
            raise InputError(gt_file, rec, "a 'bbox' (OKS uses it for a GT without labelled points)")
    for i, d in enumerate(dt):
        points(d, dt_file, f"detection index {i}")
