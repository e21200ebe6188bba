"""COCO mAP from files (or loaded JSON): pycocotools' 12 stats, bit for bit, with intervals; and the
paired comparison of two detectors on the same ground truth."""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np

from gapbench.core.results import CompareResult, MetricValue, ScoreResult
from gapbench.data.coco import load_coco
from gapbench.errors import InputError
from gapbench.metrics import intervals as stats
from gapbench.metrics.coco import evaluate_coco
from gapbench.metrics.coco_params import CocoParams
from gapbench.metrics.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED


def score_coco(
    gt: Any,
    dt: Any,
    *,
    iou_type: str = "bbox",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
    params: CocoParams | None = None,
) -> ScoreResult:
    """COCO mAP of detections ``dt`` against ground truth ``gt`` (paths or loaded JSON).

    ``iou_type`` ``bbox``, ``segm`` or ``keypoints`` (OKS); ``params`` the COCOeval ``Params``
    changes (IoU thresholds, maxDets, area ranges, keypoint sigmas)."""
    inp = load_coco(gt, dt, iou_type)
    return evaluate_coco(inp, iou_type=iou_type, bootstrap=bootstrap, seed=seed, ci=ci, params=params)




def _system(gt: Any, dt: Any, iou_type: str) -> tuple[Any, float, Any]:
    """One system's engine evaluation, its pycocotools-exact AP and its weighted re-accumulator."""
    from gapbench.metrics.coco import run_engine
    from gapbench.metrics.coco_bootstrap import Accumulator, Matched
    from gapbench.metrics.coco_exact import exact_point_from_engine

    inp = load_coco(gt, dt, iou_type)
    if iou_type == "keypoints":
        from gapbench.metrics.coco_params import COCO_KPT_SIGMAS, check_keypoints

        check_keypoints(inp.gt, inp.dt, inp.gt_file, inp.dt_file, COCO_KPT_SIGMAS)
    ev = run_engine(inp, iou_type)
    try:
        ap = float(exact_point_from_engine(ev)[0][0])
    except (ValueError, KeyError, IndexError):  # engine layout not as expected: its own value
        ap = float(ev.stats[0])
    mt = Matched(ev)
    return ev, (float("nan") if ap <= -1 else ap), (None if mt.error else Accumulator(mt))


def paired_coco_tests(gt: Any, dt_a: Any, dt_b: Any, *, iou_type: str = "bbox",
                      resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
                      ) -> tuple[dict[str, stats.PairedTest], list[str]]:
    """Every summarize() stat (detection's 12, keypoints' 10) of A minus B on the same ground truth,
    paired over images as :func:`compare_coco` tests AP: one draw of image multiplicities per
    resample for both systems, and all the stats of a resample from one re-accumulation of each."""
    _, _, acc_a = _system(gt, dt_a, iou_type)
    _, _, acc_b = _system(gt, dt_b, iou_type)
    if acc_a is None or acc_b is None:
        return {}, ["no matching to resample: no paired tests"]
    n = acc_a.mt.nI
    if n != acc_b.mt.nI:  # same GT, so this would be a bug in the loaders
        raise InputError(None, None, "both systems scored on the same images", f"{n} vs {acc_b.mt.nI}")
    notes = [] if n >= stats.MIN_UNITS else [f"only {n} image(s): no paired tests"]
    return _paired(acc_a, acc_b, acc_a.stat_names, resamples, seed), notes


def _paired(acc_a: Any, acc_b: Any, names: tuple[str, ...], resamples: int, seed: int
            ) -> dict[str, stats.PairedTest]:
    """The paired image bootstrap of each named stat, every resample re-accumulated once per system."""
    stat_a, stat_b = _memo_stats(acc_a), _memo_stats(acc_b)
    columns = {name: k for k, name in enumerate(acc_a.stat_names)}
    return {name: stats.paired_bootstrap(lambda c, k=columns[name]: stat_a(c)[:, k],
                                         lambda c, k=columns[name]: stat_b(c)[:, k], acc_a.mt.nI, resamples, seed)
            for name in names}


def _memo_stats(acc: Any) -> Any:
    """``acc.stats(counts)[0]``, computed once per counts block (every stat's test draws the same blocks)."""
    memo: dict[bytes, np.ndarray] = {}

    def stat(counts: np.ndarray) -> np.ndarray:
        key = counts.tobytes() + repr(counts.shape).encode()
        if key not in memo:
            memo[key] = acc.stats(counts)[0]
        return memo[key]

    return stat


def compare_coco(
    gt: Any,
    dt_a: Any,
    dt_b: Any,
    *,
    iou_type: str = "bbox",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
    a_label: str | None = None,
    b_label: str | None = None,
) -> CompareResult:
    """AP@[.5:.95](A) - AP(B) on the same ground truth, with a paired image bootstrap.

    Both systems are scored on every ground-truth image (the shared units); each resample draws
    image multiplicities once and re-accumulates both systems with those same weights (Koehn
    2004's paired bootstrap with images as units), using the weighted re-accumulation of
    :mod:`gapbench.metrics.coco_bootstrap` (one matching per system, no re-evaluation per
    resample). Interval: percentile of the resampled differences; p-value: two-sided, the
    bootstrap distribution shifted to the null (:func:`gapbench.metrics.intervals.paired_bootstrap`).
    Point values are pycocotools-exact.
    """
    if ci and (isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1):
        raise InputError(None, "number of bootstrap resamples", "an integer >= 1 (or ci=False)", bootstrap)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(None, "seed", "an integer >= 0", seed)
    a_label = a_label or _label(dt_a, "A")
    b_label = b_label or _label(dt_b, "B")
    if a_label == b_label:
        a_label, b_label = f"{a_label} (first)", f"{b_label} (second)"
    ev_a, ap_a, acc_a = _system(gt, dt_a, iou_type)
    ev_b, ap_b, acc_b = _system(gt, dt_b, iou_type)
    img_a, img_b = list(ev_a.params.imgIds), list(ev_b.params.imgIds)
    if img_a != img_b:  # same GT, so this would be a bug in the loaders
        raise InputError(None, None, "both systems scored on the same images", f"{len(img_a)} vs {len(img_b)}")
    n = len(img_a)
    notes: list[str] = []
    diff_ci: tuple[float, float] | None = None
    p_value, resamples = float("nan"), 0
    if ci:
        if acc_a is None or acc_b is None or n < stats.MIN_UNITS:
            notes.append(f"only {n} image(s), or no matching to resample: no bootstrap test")
        else:
            test = _paired(acc_a, acc_b, ("AP",), bootstrap, seed)["AP"]
            diff_ci, p_value, resamples = test.ci95, test.p_value, test.resamples
            if diff_ci is None:
                notes.append("AP is undefined in every resample (no ground truth?): no bootstrap test")
    info: dict[str, Any] = {"a": a_label, "b": b_label, "images": n, "iou_type": iou_type}
    if resamples:
        info["bootstrap"] = {"resamples": resamples, "seed": seed, "unit": "image", "paired": True}
        info["p_value_floor"] = 1.0 / (resamples + 1)
    return CompareResult(kind="coco", metric="AP", a=MetricValue(ap_a), b=MetricValue(ap_b),
                         diff=MetricValue(ap_a - ap_b, diff_ci), p_value=p_value, n=n, info=info, notes=notes)


def _label(dt: Any, default: str) -> str:
    return str(dt) if isinstance(dt, (str, PathLike)) else default
