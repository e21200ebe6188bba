"""COCO point values bit-identical to pycocotools.

faster-coco-eval's precision array equals pycocotools' except where pycocotools has
``1/(1+eps)`` (precision ``tp/(tp+fp+eps)`` at tp=1, fp=0, kept by the envelope when the second
non-ignored detection is not a true positive); there the engine stores 1.0, and the 12 stats can
differ in the last digit. :func:`exact_point_from_engine` corrects those entries, matching only
the top few detections of each category (:func:`lone_first_tp`);
:func:`exact_point_from_matching` rebuilds the whole array from the bootstrap's full matching.
:func:`summarize` then averages exactly as ``COCOeval.summarize()`` does.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any

import numpy as np

from gapbench.metrics.coco_accumulate import EPS, Accumulator, Matched
from gapbench.metrics.coco_params import gt_ignored

ONE_TP = 1.0 / (1.0 + EPS)  # pycocotools' precision at tp=1, fp=0: 0.9999999999999998


def summarize(precision: np.ndarray, recall: np.ndarray, params: Any) -> np.ndarray:
    """pycocotools' ``COCOeval.summarize()`` 12 detection stats, operation for operation.

    ``precision`` (T, R, K, A, M) and ``recall`` (T, K, A, M) as ``COCOeval.eval``; the same
    slices, ``s[s > -1]`` and ``np.mean`` (pairwise summation over the same flat C order), -1 where
    nothing is defined.
    """
    p = params
    if getattr(p, "iouType", "bbox") == "keypoints":
        return _summarize_kps(precision, recall, p)
    thrs = np.asarray(p.iouThrs)
    area_lbl, max_dets = list(p.areaRngLbl), list(p.maxDets)

    def _summarize(ap: int = 1, iou_thr: float | None = None, area: str = "all", max_det: int = 100) -> float:
        aind = [i for i, a in enumerate(area_lbl) if a == area]
        mind = [i for i, m in enumerate(max_dets) if m == max_det]
        if ap == 1:
            s = precision
            if iou_thr is not None:
                s = s[np.where(iou_thr == thrs)[0]]
            s = s[:, :, :, aind, mind]
        else:
            s = recall
            if iou_thr is not None:
                s = s[np.where(iou_thr == thrs)[0]]
            s = s[:, :, aind, mind]
        kept = s[s > -1]
        return -1.0 if len(kept) == 0 else float(np.mean(kept))

    m = max_dets[2]
    return np.array([
        _summarize(1),
        _summarize(1, iou_thr=0.5, max_det=m),
        _summarize(1, iou_thr=0.75, max_det=m),
        _summarize(1, area="small", max_det=m),
        _summarize(1, area="medium", max_det=m),
        _summarize(1, area="large", max_det=m),
        _summarize(0, max_det=max_dets[0]),
        _summarize(0, max_det=max_dets[1]),
        _summarize(0, max_det=m),
        _summarize(0, area="small", max_det=m),
        _summarize(0, area="medium", max_det=m),
        _summarize(0, area="large", max_det=m),
    ])


def _stat(precision: np.ndarray, recall: np.ndarray, p: Any, ap: int, iou_thr: float | None, area: str,
          max_det: int) -> float:
    """One ``COCOeval._summarize`` call: the slice, ``s[s > -1]``, ``np.mean``; -1 where empty."""
    aind = [i for i, a in enumerate(p.areaRngLbl) if a == area]
    mind = [i for i, m in enumerate(p.maxDets) if m == max_det]
    s = precision if ap == 1 else recall
    if iou_thr is not None:
        s = s[np.where(iou_thr == np.asarray(p.iouThrs))[0]]
    s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
    kept = s[s > -1]
    return -1.0 if len(kept) == 0 else float(np.mean(kept))


def _summarize_kps(precision: np.ndarray, recall: np.ndarray, p: Any) -> np.ndarray:
    """pycocotools' ``summarizeKps``: 10 stats at the literal maxDets=20, areas all/medium/large."""
    return np.array([_stat(precision, recall, p, ap, thr, area, 20) for ap in (1, 0)
                     for thr, area in ((None, "all"), (.5, "all"), (.75, "all"), (None, "medium"), (None, "large"))])


def per_class_ap(precision: np.ndarray, cat_ids: Any) -> dict[int, float]:
    """AP@[.5:.95] per category id (area all, last maxDets), averaged as summarize() does."""
    out = {}
    for k, cid in enumerate(cat_ids):
        s = precision[:, :, k, 0, -1]
        kept = s[s > -1]
        out[int(cid)] = float(np.mean(kept)) if len(kept) else float("nan")
    return out


class _PairWalker:
    """pycocotools' ``evaluateImg`` greedy matching for one (image, category) pair, one detection
    at a time and only as far as asked (all area ranges and IoU thresholds at once)."""

    def __init__(self, ev: Any, img: Any, cat: Any, thr: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        gts = [g for g in ev.cocoGt.imgToAnns.get(img, ()) if g["category_id"] == cat]
        dts = [d for d in ev.cocoDt.imgToAnns.get(img, ()) if d["category_id"] == cat]
        dts = [dts[i] for i in np.argsort([-d["score"] for d in dts], kind="mergesort")]
        dts = dts[: ev.params.maxDets[-1]]
        G = len(gts)
        ious = np.asarray(ev.ious.get((img, cat), []), dtype=float) if G and dts else np.zeros((len(dts), G))
        if ious.shape != (len(dts), G):
            raise ValueError("engine IoU matrix has an unexpected layout")
        self.ious = ious
        g_area = np.array([g["area"] for g in gts], float)
        self.crowd = np.array([bool(g.get("iscrowd", 0)) for g in gts], bool)
        outside = (g_area[None, :] < lo[:, None]) | (g_area[None, :] > hi[:, None])
        self.gig = gt_ignored(gts, ev.params.iouType)[None, :] | outside  # (A, G)
        d_area = np.array([d["area"] for d in dts], float)
        self.oor = (d_area[:, None] < lo) | (d_area[:, None] > hi)  # (D, A)
        self.thr = np.minimum(thr, 1 - 1e-10)[None, :, None]  # (1, T, 1)
        self.gtm = np.zeros((len(lo), len(thr), G), bool)
        self.done: list[tuple[np.ndarray, np.ndarray]] = []

    def status(self, rank: int) -> tuple[np.ndarray, np.ndarray]:
        """(tp, ignored), each (A, T), of the pair's detection ``rank`` (score order)."""
        G = self.gtm.shape[-1]
        while len(self.done) <= rank:
            d = len(self.done)
            if G:
                io = self.ious[d][None, None, :]
                cand = (io >= self.thr) & (~self.gtm | self.crowd)
                igb = self.gig[:, None, :]
                # best non-ignored GT (last of equal IoUs, as pycocotools' strict '<'), else best ignored
                vN = np.where(cand & ~igb, io, -1.0)[..., ::-1]
                vI = np.where(cand & igb, io, -1.0)[..., ::-1]
                anyN, anyI = vN.max(-1) > -0.5, vI.max(-1) > -0.5
                m = G - 1 - np.where(anyN, vN.argmax(-1), vI.argmax(-1))
                matched = anyN | anyI
                self.gtm |= (np.arange(G) == m[..., None]) & matched[..., None]
            else:
                matched = anyN = np.zeros(self.gtm.shape[:2], bool)
            tp = matched & anyN
            ig = (matched & ~anyN) | (~matched & self.oor[d][:, None])
            self.done.append((tp, ig))
        return self.done[rank]


_WALK_LIMIT = 50_000  # detections walked before the full matching is cheaper


def lone_first_tp(ev: Any, need: np.ndarray, limit: int | None = None) -> np.ndarray | None:
    """Which (K, A, T) segments (of those in ``need``) have a first non-ignored detection that is a
    TP and a second that is not (FP or absent), at maxDets[-1]: there pycocotools' interpolated
    precision 1/(1+eps) is what faster-coco-eval stores as 1.0.

    Only the top of each needed category's score order is walked, matching each (image,
    category) pair lazily: a few detections per category instead of the whole data set. None if
    that would take more than ``limit`` detections (then the full matching is the cheaper way).
    """
    out = np.zeros_like(need)
    if not need.any():
        return out
    limit = _WALK_LIMIT if limit is None else limit
    p = ev.params
    cat_ids = list(p.catIds)
    thr = np.asarray(p.iouThrs, float)
    rng = np.asarray(p.areaRng, float)
    lo, hi = rng[:, 0], rng[:, 1]
    max_det = p.maxDets[-1]
    dts = ev.cocoDt.dataset["annotations"]
    want_cats = {cat_ids[k]: k for k in np.flatnonzero(need.any((1, 2))).tolist()}
    n = len(dts)
    cats = np.fromiter(map(itemgetter("category_id"), dts), np.int64, n)
    imgs = np.fromiter(map(itemgetter("image_id"), dts), np.int64, n)
    sel = np.flatnonzero(np.isin(cats, list(want_cats)) & np.isin(imgs, np.asarray(p.imgIds, np.int64)))
    if not len(sel):
        return out
    cats, imgs = cats[sel], imgs[sel]
    scores = np.fromiter(map(itemgetter("score"), dts), float, n)[sel]
    # accumulation order: category, -score (stable), image (imgIds are sorted), per-pair score order
    order = np.lexsort((np.arange(len(sel)), imgs, -scores, cats))
    cats_o, imgs_o = cats[order], imgs[order]
    bounds = np.flatnonzero(np.r_[True, cats_o[1:] != cats_o[:-1], True])
    steps = 0
    for b0, b1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        cid = cats_o[b0].item()
        k = want_cats[cid]
        want = need[k]
        cnt = np.zeros(want.shape, np.int64)
        first = np.zeros(want.shape, bool)
        second = np.zeros(want.shape, bool)
        walkers: dict[Any, _PairWalker] = {}
        ranks: dict[Any, int] = {}
        for img in imgs_o[b0:b1].tolist():
            r = ranks.get(img, 0)
            ranks[img] = r + 1
            if r >= max_det:
                continue
            wk = walkers.get(img)
            if wk is None:
                wk = walkers[img] = _PairWalker(ev, img, cid, thr, lo, hi)
            tp, ig = wk.status(r)
            steps += 1
            if steps > limit:
                return None
            nonig = ~ig
            first |= (cnt == 0) & tp
            second |= (cnt == 1) & tp
            cnt += nonig
            if ((cnt >= 2) | ~want).all():
                break
        out[k] = want & first & ~second
    return out


def exact_point_from_engine(ev: Any) -> tuple[np.ndarray, dict[int, float], np.ndarray]:
    """pycocotools-exact stats, per-class AP and precision from faster-coco-eval's arrays.

    faster-coco-eval's precision equals pycocotools' except where pycocotools has 1/(1+eps)
    (precision tp/(tp+fp+eps) at tp=1, fp=0, kept by the envelope when the second non-ignored
    detection is not a TP); there it stores 1.0. In the engine's array the 1.0 entries of a
    segment are the recall thresholds covered by its leading run of ``L`` true positives:
    ``n1 = nr(L)``, ``nr(j)`` = number of recall thresholds <= ``j / npig``. So ``n1 > nr(1)``
    means L >= 2 (1.0 is right), ``n1 == nr(1) < nr(2)`` means L == 1 (patch); only where
    ``nr(1) == nr(2)`` (npig >~ 100) does :func:`lone_first_tp` match the top detections to
    decide. Recall has no eps and is used as is.
    """
    prec = np.array(ev.eval["precision"], dtype=float)
    rec = np.asarray(ev.eval["recall"], dtype=float)
    m = prec.shape[-1] - 1  # maxDets[-1]
    seg = prec[..., m]  # (T, R, K, A)
    n1 = (seg == 1.0).sum(1).transpose(1, 2, 0)  # (K, A, T)
    rec_thrs = np.asarray(ev.params.recThrs, dtype=float)
    npig = _npig(ev)  # (K, A)
    with np.errstate(divide="ignore", invalid="ignore"):
        nr1 = np.searchsorted(rec_thrs, 1.0 / npig.ravel(), side="right").reshape(npig.shape)[..., None]
        nr2 = np.searchsorted(rec_thrs, 2.0 / npig.ravel(), side="right").reshape(npig.shape)[..., None]
    sure = (n1 > 0) & (n1 == nr1) & (nr1 < nr2)
    ambiguous = (n1 > 0) & (n1 == nr1) & (nr1 == nr2)
    walked = lone_first_tp(ev, ambiguous)
    if walked is None:  # too long a walk: the full matching decides every segment
        return exact_point_from_matching(Accumulator(Matched(ev)), ev)
    lone = sure | walked
    kk, aa, tt = np.nonzero(lone)
    for k, a, t in zip(kk.tolist(), aa.tolist(), tt.tolist()):
        col = prec[t, :, k, a, m]
        col[col == 1.0] = ONE_TP
        prec[t, :, k, a, m] = col
    return summarize(prec, rec, ev.params), per_class_ap(prec, ev.params.catIds), prec


def _npig(ev: Any) -> np.ndarray:
    """Non-ignored GT per (category, area range): not ignored (crowd; keypoints: no labelled point),
    area inside the (inclusive) range."""
    p = ev.params
    cat_index = {int(c): k for k, c in enumerate(p.catIds)}
    rng = np.asarray(p.areaRng, dtype=float)
    gts = ev.cocoGt.dataset["annotations"]
    n = len(gts)
    cat = np.fromiter((cat_index.get(c, -1) for c in map(itemgetter("category_id"), gts)), np.int64, n)
    img = np.fromiter(map(itemgetter("image_id"), gts), np.int64, n)
    area = np.fromiter(map(itemgetter("area"), gts), float, n)
    ok = (cat >= 0) & np.isin(img, np.asarray(p.imgIds, np.int64)) & ~gt_ignored(gts, p.iouType)
    inside = (area[:, None] >= rng[:, 0]) & (area[:, None] <= rng[:, 1])  # (n, A)
    out = np.zeros((len(p.catIds), len(rng)), np.int64)
    for a in range(len(rng)):
        sel = ok & inside[:, a]
        out[:, a] = np.bincount(cat[sel], minlength=len(p.catIds))
    return out


def exact_point_from_matching(acc: Accumulator, ev: Any) -> tuple[np.ndarray, dict[int, float], np.ndarray]:
    """pycocotools-exact stats, per-class AP and precision from the full re-accumulation
    (:meth:`Accumulator.exact_precision`) with the engine's recall (no eps in tp / npig)."""
    prec = np.array(ev.eval["precision"], dtype=float)
    prec[..., -1] = acc.exact_precision()
    rec = np.asarray(ev.eval["recall"], dtype=float)
    return summarize(prec, rec, ev.params), per_class_ap(prec, ev.params.catIds), prec
