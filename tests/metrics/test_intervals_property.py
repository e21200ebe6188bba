"""Properties every family's interval must have (the rule: ``gapbench.metrics.intervals`` docstring).

(a) an interval lies inside the statistic's range ([0, 1] for AP, mIoU, accuracy; [0, inf) for
WER and DER); (b) it contains the point value whenever one is given; (c) on data simulated from a
known population, about 95% of the intervals contain the population value (200 data sets, band
[0.88, 0.99]; COCO, whose per-set cost is an engine run, uses fewer sets and a wider band).

Where a family's plain percentile interval can fail (b) (mIoU: a rare class that drops out of a
resample raises the mean), the test shows it on a fixed example and that the BC rule of
``intervals.bootstrap_intervals`` on the same statistic contains the value or refuses with a reason.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapbench.metrics import intervals
from gapbench.metrics.der import DERMetric
from gapbench.metrics.segmentation import SegmentationMetric
from gapbench.metrics.topk import TopKAccuracy
from gapbench.metrics.wer import WERMetric

COVERAGE_BAND = (0.88, 0.99)
SETS = 200


def _inside(ci: tuple[float, float] | None, value: float, lo: float, hi: float) -> None:
    if ci is None:
        return
    assert lo <= ci[0] <= ci[1] <= hi, (ci, value)
    assert ci[0] <= value <= ci[1], (ci, value)  # (b)


def _covered(ci: tuple[float, float] | None, truth: float) -> bool:
    return ci is not None and ci[0] <= truth <= ci[1]


# --- WER / CER: ratio of per-utterance sums, percentile bootstrap over utterances -------------------


def _wer_metric(errors: list[int], words: list[int], unit: str = "word") -> WERMetric:
    sep = " " if unit == "word" else ""
    refs = [sep.join(["a"] * n) for n in words]
    hyps = [sep.join(["b"] * e + ["a"] * (n - e)) for e, n in zip(errors, words)]  # e substitutions
    m = WERMetric(unit=unit)
    m.update(hyps, refs)
    return m


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(1, 12)), min_size=2, max_size=25),
       st.sampled_from(["word", "char"]), st.integers(0, 9))
def test_wer_interval_range_and_point(units: list[tuple[int, int]], unit: str, seed: int) -> None:
    words = [n for _, n in units]
    errors = [min(e, n) for e, n in units]
    res = _wer_metric(errors, words, unit).compute(bootstrap=200, seed=seed)
    mv = res.metrics["wer" if unit == "word" else "cer"]
    _inside(mv.ci95, mv.value, 0.0, math.inf)


def test_wer_coverage() -> None:
    rng = np.random.default_rng(11)
    p, hits = 0.18, 0
    for s in range(SETS):
        words = rng.integers(3, 25, size=40)
        errors = rng.binomial(words, p)  # population WER = E[errors] / E[words] = p
        m = WERMetric()
        zeros = np.zeros(40, dtype=np.int64)
        m.add_units(np.column_stack([errors, zeros, zeros, words - errors]), None)  # S, D, I, H
        hits += _covered(m.compute(bootstrap=500, seed=s).metrics["wer"].ci95, p)
    assert COVERAGE_BAND[0] <= hits / SETS <= COVERAGE_BAND[1], hits / SETS


# --- DER: ratio of per-file component sums -----------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(1, 20), st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=6),
       st.integers(0, 9))
def test_der_interval_range_and_point(files: list[tuple[float, float, float]], seed: int) -> None:
    m = DERMetric()
    for i, (dur, cut, shift) in enumerate(files):
        ref = [(0.0, dur * cut + 0.1, "A"), (dur * cut + 0.1, dur + 0.2, "B")]
        hyp = [(shift, dur * (1 - cut) + 0.3, "x"), (dur * (1 - cut) + 0.3, dur + shift + 0.1, "y")]
        m.add_file(f"f{i}", ref, hyp)
    res = m.compute(bootstrap=200, seed=seed)
    for name in ("der", "missed", "false_alarm", "confusion"):
        _inside(res.metrics[name].ci95, res.metrics[name].value, 0.0, math.inf)


def test_der_coverage() -> None:
    """Per-file components drawn from a fixed distribution (the state the metric keeps)."""
    rng = np.random.default_rng(12)
    rates = np.array([0.05, 0.04, 0.08])  # missed, false alarm, confusion per second of speech
    hits = 0
    for s in range(SETS):
        total = rng.gamma(4.0, 60.0, size=30)
        missed, fa, conf = (rng.gamma(2.0, r / 2.0, size=30) * total for r in rates)
        m = DERMetric()
        m.add_units(np.column_stack([missed, fa, conf, total - missed - conf, total]), [f"f{i}" for i in range(30)])
        hits += _covered(m.compute(bootstrap=500, seed=s).metrics["der"].ci95, float(rates.sum()))
    assert COVERAGE_BAND[0] <= hits / SETS <= COVERAGE_BAND[1], hits / SETS


# --- mIoU: mean over classes of per-class ratios -----------------------------------------------


def _seg_images(rng: np.random.Generator, n: int, classes: int, q: float, size: int = 8) -> list:
    out = []
    for _ in range(n):
        gt = rng.integers(0, classes, size=(size, size))
        wrong = rng.random((size, size)) > q
        pred = np.where(wrong, rng.integers(0, classes, size=(size, size)), gt)
        out.append((pred, gt))
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 12), st.integers(2, 4), st.floats(0.2, 0.95), st.integers(0, 10_000))
def test_seg_interval_range_and_point_common_classes(n: int, classes: int, q: float, seed: int) -> None:
    m = SegmentationMetric(classes)
    for pred, gt in _seg_images(np.random.default_rng(seed), n, classes, q):
        m.add_image(pred, gt)
    res = m.compute(bootstrap=200, seed=seed)
    for mv in list(res.metrics.values()) + list(res.groups["per_class"].values()):
        if mv.value is not None and not math.isnan(mv.value):
            _inside(mv.ci95, mv.value, 0.0, 1.0)


def test_seg_plain_percentile_misses_with_rare_classes_bc_does_not() -> None:
    """Twelve rare classes, each in one image with IoU 0: a resample usually drops one of them from
    the mean, so >97.5% of resampled mIoUs lie above the value and the plain percentile interval
    excludes it; SegmentationMetric (BC, on the component base) refuses instead, with a note."""
    rng = np.random.default_rng(0)
    m = SegmentationMetric(14)
    for i in range(40):
        gt = rng.integers(0, 2, size=(8, 8))
        pred = np.where(rng.random((8, 8)) < 0.8, gt, 1 - gt)
        if i < 12:  # class 2 + i in one image only, always missed
            gt[0, 0], pred[0, 0] = 2 + i, 0
        m.add_image(pred, gt)
    res = m.compute(bootstrap=500, seed=0)
    miou = res.metrics["mIoU"]
    assert miou.ci95 is None and any(n.startswith("mIoU: bias correction degenerate") for n in res.notes)
    areas = m.areas().astype(float)

    def statistic(c: np.ndarray) -> np.ndarray:
        ti, tu = c @ areas[:, 0, :], c @ areas[:, 1, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(tu > 0, ti / np.where(tu > 0, tu, 1), np.nan)
        ok = ~np.isnan(iou)
        return np.where(ok, iou, 0).sum(1) / ok.sum(1)

    plain = intervals.percentile_interval(intervals.bootstrap_stats(len(areas), statistic, 500, 0))
    assert not plain[0] <= miou.value <= plain[1]  # the plain interval's failure of (b)
    iv = intervals.bootstrap_intervals(len(areas), statistic, 500, 0)
    assert iv.pair() is None and "degenerate" in iv.reasons[0]
    assert statistic(np.ones((1, 40)))[0] == pytest.approx(miou.value, abs=1e-12)


def test_seg_coverage() -> None:
    classes, q = 3, 0.7
    big = SegmentationMetric(classes)
    for pred, gt in _seg_images(np.random.default_rng(99), 20_000, classes, q):
        big.add_image(pred, gt)
    truth = big.compute(ci=False).metrics["mIoU"].value  # the population value (20,000 images)
    rng = np.random.default_rng(13)
    hits = 0
    for s in range(SETS):
        m = SegmentationMetric(classes)
        for pred, gt in _seg_images(rng, 25, classes, q):
            m.add_image(pred, gt)
        hits += _covered(m.compute(bootstrap=500, seed=s).metrics["mIoU"].ci95, truth)
    assert COVERAGE_BAND[0] <= hits / SETS <= COVERAGE_BAND[1], hits / SETS


# --- top-k: Wilson score interval ---------------------------------------------------------------


def _topk(rng: np.random.Generator, n: int, p: float, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, classes, size=n)
    scores = rng.random((n, classes))
    right = rng.random(n) < p
    scores[np.arange(n), labels] = np.where(right, 2.0, -1.0)  # top-1 iff right
    return scores, labels


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.floats(0, 1), st.integers(0, 10_000))
def test_topk_interval_range_and_point(n: int, p: float, seed: int) -> None:
    m = TopKAccuracy(k=(1, 3))
    m.add_arrays(*_topk(np.random.default_rng(seed), n, p))
    res = m.compute()
    for name in ("top1", "top3"):
        _inside(res.metrics[name].ci95, res.metrics[name].value, 0.0, 1.0)


def test_topk_coverage() -> None:
    rng = np.random.default_rng(14)
    p, hits = 0.73, 0
    for _ in range(SETS):
        m = TopKAccuracy(k=1)
        m.add_arrays(*_topk(rng, 80, p))
        hits += _covered(m.compute().metrics["top1"].ci95, p)
    assert COVERAGE_BAND[0] <= hits / SETS <= COVERAGE_BAND[1], hits / SETS


# --- COCO: BC percentile over images ----------------------------------------------------------


def _coco_set(rng: np.random.Generator, n_images: int, classes: int = 3) -> tuple[dict, list]:
    """GT boxes and detections: each GT found (jittered) with prob. 0.7, plus clutter."""
    images, anns, dets = [], [], []
    for img in range(1, n_images + 1):
        images.append({"id": img, "width": 200, "height": 200})
        for _ in range(int(rng.integers(1, 5))):
            w, h = (float(v) for v in rng.uniform(20, 80, 2))
            x, y = (float(v) for v in rng.uniform(0, 110, 2))
            cat = int(rng.integers(1, classes + 1))
            anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": [x, y, w, h],
                         "area": w * h, "iscrowd": 0})
            if rng.random() < 0.7:
                j = rng.normal(0, 0.08, 4)
                dets.append({"image_id": img, "category_id": cat, "score": float(rng.beta(4, 2)),
                             "bbox": [x + j[0] * w, y + j[1] * h, w * math.exp(j[2]), h * math.exp(j[3])]})
        for _ in range(int(rng.integers(0, 3))):
            dets.append({"image_id": img, "category_id": int(rng.integers(1, classes + 1)),
                         "score": float(rng.beta(2, 4)),
                         "bbox": [float(v) for v in (*rng.uniform(0, 150, 2), *rng.uniform(10, 50, 2))]})
    cats = [{"id": c, "name": f"c{c}"} for c in range(1, classes + 1)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 30), st.integers(0, 10_000))
def test_coco_interval_range_and_point(n_images: int, seed: int) -> None:
    from gapbench.scoring.coco import score_coco

    gt, dt = _coco_set(np.random.default_rng(seed), n_images)
    res = score_coco(gt, dt, bootstrap=200, seed=seed)
    for mv in list(res.metrics.values()) + list(res.groups["per_class"].values()):
        if mv.value is not None and not math.isnan(mv.value):
            _inside(mv.ci95, mv.value, 0.0, 1.0)


def test_coco_coverage() -> None:
    """AP@[.5:.95] over 60 sets of 40 images against the population AP (6,000 images): BC's
    coverage, wider band (60 sets: one standard error is 2.8 points)."""
    from gapbench.scoring.coco import score_coco

    truth = score_coco(*_coco_set(np.random.default_rng(7), 6000), ci=False).metrics["AP50"].value
    rng = np.random.default_rng(15)
    sets, hits = 60, 0
    for s in range(sets):
        res = score_coco(*_coco_set(rng, 40), bootstrap=300, seed=s)
        hits += _covered(res.metrics["AP50"].ci95, truth)
    assert 0.83 <= hits / sets <= 1.0, hits / sets
