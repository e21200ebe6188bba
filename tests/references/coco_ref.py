"""pycocotools as the reference for the COCO tests (metrics/ and scoring/ share it)."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.data.coco import load_coco
from gapbench.metrics.coco import METRIC_NAMES, run_engine
from gapbench.metrics.coco_accumulate import Accumulator, Matched
from gapbench.metrics.coco_exact import ONE_TP, exact_point_from_engine, exact_point_from_matching, lone_first_tp
from gapbench.scoring.coco import score_coco

ATOL = 1e-12


def pyco_eval(gt: Any, dt: Any, iou_type: str = "bbox") -> Any:
    """pycocotools' COCOeval after evaluate/accumulate/summarize; gt/dt paths or objects (copied)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = json.loads(Path(gt).read_text()) if isinstance(gt, (str, Path)) else copy.deepcopy(gt)
    dt = json.loads(Path(dt).read_text()) if isinstance(dt, (str, Path)) else copy.deepcopy(dt)
    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO()
        cgt.dataset = gt
        cgt.createIndex()
        cdt = cgt.loadRes(dt)
        ev = COCOeval(cgt, cdt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def pyco_stats(gt: Any, dt: Any, iou_type: str = "bbox") -> np.ndarray:
    """pycocotools' 12 stats (-1 -> NaN)."""
    s = np.asarray(pyco_eval(gt, dt, iou_type).stats[:12], dtype=float)
    return np.where(s == -1, np.nan, s)


def pyco_per_class(ev: Any) -> dict[int, float]:
    """pycocotools' AP per category id, as its summarize() averages the precision array."""
    out = {}
    for k, cid in enumerate(ev.params.catIds):
        s = ev.eval["precision"][:, :, k, 0, -1]
        out[int(cid)] = float(np.mean(s[s > -1])) if np.any(s > -1) else float("nan")
    return out


def assert_exact(ours: np.ndarray, ref: np.ndarray) -> None:
    """Bit for bit (NaN where pycocotools has -1)."""
    assert np.array_equal(ours, ref, equal_nan=True), (ours, ref, ours - ref)


def assert_exact_everywhere(gt: Any, dt: Any, iou_type: str = "bbox", ci: bool = True) -> Any:
    """score_coco (no CI, and with a small bootstrap) and both exact paths == pycocotools, bit for bit:
    the 12 stats, per-class AP and the maxDets=100 precision array."""
    ref = pyco_eval(gt, dt, iou_type)
    ref_stats = np.where(np.asarray(ref.stats[:12]) == -1, np.nan, np.asarray(ref.stats[:12], dtype=float))
    ref_cls = pyco_per_class(ref)
    runs = [score_coco(gt, dt, iou_type=iou_type, ci=False)]
    if ci:
        runs.append(score_coco(gt, dt, iou_type=iou_type, bootstrap=20, seed=1))
    cat_names = {c["id"]: c["name"] for c in (json.loads(Path(gt).read_text()) if isinstance(gt, (str, Path))
                                             else gt)["categories"]}
    for res in runs:
        timing = res.info["timing_s"]
        # which exact path ran: the engine patch without CI, the full re-accumulation with it
        assert ("bootstrap_exact" in timing) != ("exact_point" in timing)
        assert ("bootstrap_exact" in timing) == ("bootstrap" in timing)
        assert "bootstrap_exact" in timing or res.info["resamples"] == 0
        assert_exact(values(res), ref_stats)
        assert not any("disagree" in n or "differs" in n or "unavailable" in n for n in res.notes), res.notes
        for cid, want in ref_cls.items():
            got = res.groups["per_class"][cat_names[cid]].value
            assert (math.isnan(want) and math.isnan(got)) or got == want, (cid, got, want)
    ev = run_engine(load_coco(gt, dt, iou_type), iou_type)
    want_prec = ref.eval["precision"][..., -1]
    _, _, prec_engine = exact_point_from_engine(ev)
    assert np.array_equal(prec_engine[..., -1], want_prec)
    # the walk alone (no shortcut from the counts of 1.0 entries) on every segment with a 1.0
    has_one = (np.asarray(ev.eval["precision"])[..., -1] == 1.0).any(1).transpose(1, 2, 0)
    lone = lone_first_tp(ev, has_one)
    assert np.array_equal(lone, (want_prec == ONE_TP).any(1).transpose(1, 2, 0))
    mt = Matched(ev)
    assert mt.error is None
    _, _, prec_matched = exact_point_from_matching(Accumulator(mt), ev)
    assert np.array_equal(prec_matched[..., -1], want_prec)
    assert np.array_equal(np.asarray(ev.eval["recall"]), ref.eval["recall"])
    return ev


def values(res: Any) -> np.ndarray:
    return np.array([res.metrics[n].value for n in METRIC_NAMES], dtype=float)


def ones_stats(gt: Any, dt: Any, iou_type: str = "bbox") -> tuple[np.ndarray, np.ndarray, Any]:
    """Bootstrap re-accumulation at all-ones weights, next to the engine's stats."""
    ev = run_engine(load_coco(gt, dt, iou_type), iou_type)
    mt = Matched(ev)
    assert mt.error is None
    st_, _ = Accumulator(mt).stats(np.ones((1, mt.nI), np.int32))
    eng = np.where(np.asarray(ev.stats[:12]) == -1, np.nan, np.asarray(ev.stats[:12], dtype=float))
    return st_[0], eng, ev
