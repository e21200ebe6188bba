"""Image bootstrap for COCO mAP: match once, re-accumulate every resample with weights.

A resample is a vector of image multiplicities ``w`` (``gapbench.metrics.intervals`` convention).
Duplicating an image ``w`` times with its copies adjacent in the score order (an arbitrary but
fixed tie order) is exactly a weight ``w`` on each of its detections and GT, so pycocotools'
``accumulate`` becomes, per (area range, IoU threshold, category) segment of the score-sorted
detections:

* ``tp(j) = cumsum(w·tp)``, ``n(j) = cumsum(w·non-ignored)``; ``npig = Σ w·npig_img``;
* precision ``tp / (n + eps)``, recall ``tp / npig`` (pycocotools' float operations);
* the 101-point interpolated precision only needs the true-positive positions: the envelope
  (suffix maximum) at a TP position covers the recall points in ``(rc(prev TP), rc(this TP)]``,
  so ``AP = Σ env · covered / 101``.

Per resample, everything is one set of segmented numpy operations over all segments at once
(int32 segmented cumsums, a reversed ``maximum.accumulate`` with per-segment offsets, one
``reduceat``); one resample at a time keeps the working set in cache (measured: 8 resamples per
vectorised block was 2-3x slower), on two threads. The npig and AR sums are linear in ``w``: one
matrix product for all resamples. The per-image matching reimplements pycocotools' ``evaluateImg``
greedy loop on faster-coco-eval's IoU matrices (``COCOeval.ious``; the C++ per-image records are
not readable from Python), vectorised over all (image, category) pairs, area ranges and
thresholds. The all-ones resample reproduces the engine's stats to ~1e-14 (checked by the caller;
the tests also check a resample against pycocotools on the dataset with the images copied): the
resample path's envelope rounds (per-segment offsets) and it averages in its own order.

Exact point values (pycocotools bit for bit) are a separate path in
:mod:`gapbench.metrics.coco_exact`; :meth:`Accumulator.exact_precision` serves it by materialising
pycocotools' ``precision[:, :, :, :, -1]`` from the full matching (exact per-segment envelope,
``np.repeat(env, cov)`` then zeros).

Resampled interpolated AP is biased upward (the envelope is a running maximum, and noisier curves
have higher maxima), and a class seen in few images drops out of a resample's mean (or is carried
by one or two images, so its resampled AP takes a handful of values): on the 5,000-image
benchmark the plain percentile interval of AP lay wholly above the point value. The intervals
are therefore bias-corrected percentile (BC) intervals (:func:`gapbench.metrics.intervals.
bc_percentile_interval`), per stat and per class, around the pycocotools-exact point values;
where BC refuses (too few distinct resampled values, a degenerate bias correction) there is no
interval and a reason instead (``CocoBootstrap.ci_reasons`` / ``class_reasons``).
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapbench.metrics.coco_accumulate import Accumulator, Matched
from gapbench.metrics.intervals import bc_percentile_interval, iter_resample_counts

_BLOCK = 25  # resamples per job (each is re-accumulated on its own, see _segment_ap)


@dataclass
class CocoBootstrap:
    point: np.ndarray  # the summarize() stats at all-ones weights (-1 where undefined, as pycocotools)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    class_ci: dict[int, tuple[float, float]] = field(default_factory=dict)
    # why a stat / class has no interval (only where refused; see stats.bc_percentile_interval)
    ci_reasons: dict[str, str] = field(default_factory=dict)
    class_reasons: dict[int, str] = field(default_factory=dict)
    error: str | None = None
    timing: dict[str, float] = field(default_factory=dict)
    # pycocotools-exact (the stats, per-class AP) from the full matching; None if it failed its check
    exact: tuple[np.ndarray, dict[int, float]] | None = None
    exact_note: str | None = None


def _workers() -> int:
    """Threads for the resamples (numpy releases the GIL in the segmented scans): all cores, <= 8."""
    import os

    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, n))


_INLINE_WORK = 1_000_000  # detections x resamples below which the resamples run in this thread
_FORKED_ACC: Any = None  # the accumulator a forked worker inherits (copy-on-write, never pickled)


def _stats_in_child(job: Any) -> Any:
    return _FORKED_ACC.stats(*job)


def _map_stats(acc: Any, jobs: list[Any]) -> list[Any]:
    """``acc.stats`` over every job, in order. The per-resample precision envelope is a Python-level
    scan that holds the GIL (threads gave 1.3x on 2 cores), so with several cores and a POSIX fork
    the jobs go to forked processes that inherit the accumulator; else to threads."""
    import multiprocessing as mp

    global _FORKED_ACC
    # a small scan (detections x resamples) costs less in this thread than starting workers:
    # measured on 16 OCR scenes (57 detections, 1,000 resamples): 0.05 s CPU here vs 0.08-0.14 s forked
    if acc.mt.N * sum(len(job[0]) for job in jobs) < _INLINE_WORK:
        return [acc.stats(*job) for job in jobs]
    n = _workers()
    if n > 1 and len(jobs) > n and "fork" in mp.get_all_start_methods():
        from concurrent.futures import ProcessPoolExecutor

        _FORKED_ACC = acc
        try:
            with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork")) as pool:
                return list(pool.map(_stats_in_child, jobs, chunksize=max(1, len(jobs) // (4 * n))))
        except (OSError, RuntimeError):  # no processes here (a sandbox): fall back to threads
            pass
        finally:
            _FORKED_ACC = None
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda job: acc.stats(*job), jobs))


def bootstrap_coco(ev: Any, resamples: int, seed: int) -> CocoBootstrap:
    """BC percentile intervals of the summarize() stats (detection's 12, keypoints' 10) and per-class AP
    over image resamples."""
    t0 = time.perf_counter()
    mt = Matched(ev)
    if mt.error:
        return CocoBootstrap(np.full(10 if mt.keypoints else 12, -1.0), error=mt.error)
    t1 = time.perf_counter()
    acc = Accumulator(mt)
    t2 = time.perf_counter()
    ones = np.ones((1, mt.nI), np.int32)
    point, class_point = acc.stats(ones)
    point = np.where(np.isnan(point[0]), -1.0, point[0])
    # the draws come from one seeded stream in a fixed order (this thread), the linear sums are
    # one matrix product per block here (BLAS inside the workers oversubscribes the cores), and
    # the workers' results are joined in draw order: nothing depends on the number of threads
    jobs = []
    for counts in iter_resample_counts(mt.nI, resamples, seed):
        npig, ar = acc.linear(counts)
        jobs.extend(
            (counts[i:i + _BLOCK], (npig[i:i + _BLOCK], ar[i:i + _BLOCK]))
            for i in range(0, len(counts), _BLOCK)
        )
    results = _map_stats(acc, jobs)
    stats = np.concatenate([r[0] for r in results])
    per_class = np.concatenate([r[1] for r in results])
    t3 = time.perf_counter()
    exact, exact_note = None, None
    from gapbench.metrics import coco_exact

    stats_x, per_class_x, prec = coco_exact.exact_point_from_matching(acc, ev)
    eng = np.asarray(ev.eval["precision"])[..., -1]
    # the re-accumulated precision must be the engine's except for the 1.0 -> 1/(1+eps) entries
    if np.array_equal(np.where(prec[..., -1] == coco_exact.ONE_TP, 1.0, prec[..., -1]), eng):
        exact = (stats_x, per_class_x)
    else:
        exact_note = "re-accumulated precision differs from the engine's (matching bug?)"
    t4 = time.perf_counter()
    # BC intervals around the values that will be reported (pycocotools-exact when available)
    ref = np.asarray(exact[0], float) if exact is not None else point
    ref = np.where(ref < 0, np.nan, ref)
    cref = (np.array([exact[1].get(int(c), np.nan) for c in mt.cat_ids], float)
            if exact is not None else class_point[0])
    ci, ci_reasons, class_ci, class_reasons = {}, {}, {}, {}
    iv = bc_percentile_interval(stats, ref)
    for i, name in enumerate(acc.stat_names):
        pair = iv.pair(i)
        if pair is not None:
            ci[name] = pair
        elif not math.isnan(ref[i]):
            ci_reasons[name] = str(iv.reasons[i])
    civ = bc_percentile_interval(per_class, cref)
    for k, c in enumerate(mt.cat_ids):
        pair = civ.pair(k)
        if pair is not None:
            class_ci[int(c)] = pair
        elif not math.isnan(cref[k]):
            class_reasons[int(c)] = str(civ.reasons[k])
    timing = {"match": t1 - t0, "index": t2 - t1, "resamples": t3 - t2, "exact": t4 - t3,
              "intervals": time.perf_counter() - t4}
    return CocoBootstrap(point, ci, class_ci, ci_reasons, class_reasons, timing=timing, exact=exact,
                         exact_note=exact_note)
