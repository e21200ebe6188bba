"""The COCO matching and accumulation engine the bootstrap and the exact point values share.

:class:`Matched` holds, from one faster-coco-eval evaluation, every detection's match outcome per
area range and IoU threshold; :class:`Accumulator` re-accumulates pycocotools' precision/recall
arrays from it with image multiplicities (all ones: the point value; a resample's counts: one
bootstrap replicate). ``STAT_NAMES`` is the order of pycocotools' ``summarize()`` stats, stated once
(keypoints: ``summarizeKps``'s 10, :data:`~gapbench.metrics.coco_params.KP_STAT_NAMES`).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from gapbench.core.arrays import nanmean
from gapbench.metrics.coco_params import KP_STAT_NAMES, gt_ignored

EPS = np.spacing(1)
STAT_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs",
                               "ARm", "ARl")


class Matched:
    """Per-detection match outcome for every area range and IoU threshold, from one evaluation."""

    def __init__(self, ev: Any) -> None:
        p = ev.params
        self.keypoints = p.iouType == "keypoints"
        self.img_ids = np.asarray(p.imgIds)
        self.cat_ids = np.asarray(p.catIds)
        self.thr = np.asarray(p.iouThrs, dtype=float)
        self.rec_thrs = np.asarray(p.recThrs, dtype=float)
        self.area_rng = np.asarray(p.areaRng, dtype=float)
        self.max_dets = list(p.maxDets)
        self.nI, self.K = len(self.img_ids), len(self.cat_ids)
        self.T, self.A = len(self.thr), len(self.area_rng)
        img_index = {int(i): n for n, i in enumerate(self.img_ids)}
        cat_index = {int(c): n for n, c in enumerate(self.cat_ids)}

        gts = ev.cocoGt.dataset["annotations"]
        n_g = len(gts)
        g_img = np.fromiter((img_index[a["image_id"]] for a in gts), np.int64, n_g)
        g_cat = np.fromiter((cat_index[a["category_id"]] for a in gts), np.int64, n_g)
        g_area = np.fromiter((a["area"] for a in gts), float, n_g)
        g_crowd = np.fromiter((bool(a.get("iscrowd", 0)) for a in gts), bool, n_g)
        lo, hi = self.area_rng[:, 0], self.area_rng[:, 1]
        g_ig = gt_ignored(gts, p.iouType)[:, None] | (g_area[:, None] < lo) | (g_area[:, None] > hi)  # (n_g, A)
        # npig per (image, area, category)
        npig = np.zeros((self.nI, self.A, self.K), np.int64)
        for a in range(self.A):
            keep = ~g_ig[:, a]
            counts = np.bincount(g_img[keep] * self.K + g_cat[keep], minlength=self.nI * self.K)
            npig[:, a, :] = counts.reshape(self.nI, self.K)
        self.npig = npig

        dts = ev.cocoDt.dataset["annotations"]
        n_d = len(dts)
        d_img = np.fromiter((img_index[a["image_id"]] for a in dts), np.int64, n_d)
        d_cat = np.fromiter((cat_index[a["category_id"]] for a in dts), np.int64, n_d)
        d_score = np.fromiter((a["score"] for a in dts), float, n_d)
        d_area = np.fromiter((a["area"] for a in dts), float, n_d)
        # per (image, category) pair: score-sorted (stable), first maxDets kept
        order = np.lexsort((np.arange(n_d), -d_score, d_img, d_cat))
        key = (d_cat * self.nI + d_img)[order]
        first = np.r_[True, key[1:] != key[:-1]] if n_d else np.zeros(0, bool)
        starts = np.flatnonzero(first)
        rank = np.arange(n_d) - np.repeat(starts, np.diff(np.r_[starts, n_d]))
        keep = rank < self.max_dets[-1]
        order, rank = order[keep], rank[keep]
        self.d_img, self.d_cat, self.d_score = d_img[order], d_cat[order], d_score[order]
        self.d_area, self.rank = d_area[order], rank
        self.N = len(order)
        oor = (self.d_area[:, None] < lo) | (self.d_area[:, None] > hi)  # (N, A)
        self.oor = oor

        # match: M (N, A, T) matched, MI matched to an ignored GT
        self.M = np.zeros((self.N, self.A, self.T), bool)
        self.MI = np.zeros((self.N, self.A, self.T), bool)
        self.error: str | None = None
        self._match(ev, g_img, g_cat, g_crowd, g_ig)

    def _match(self, ev: Any, g_img, g_cat, g_crowd, g_ig) -> None:  # noqa: ANN001
        if self.N == 0 or len(g_img) == 0:
            return
        gkey = g_cat * self.nI + g_img
        gorder = np.lexsort((np.arange(len(gkey)), gkey))
        gkey_s = gkey[gorder]
        dkey = self.d_cat * self.nI + self.d_img
        pair_keys, d_start, d_count = np.unique(dkey, return_index=True, return_counts=True)
        g_lo = np.searchsorted(gkey_s, pair_keys, "left")
        g_hi = np.searchsorted(gkey_s, pair_keys, "right")
        has = g_hi > g_lo
        pair_keys, d_start, d_count, g_lo, g_hi = (x[has] for x in (pair_keys, d_start, d_count, g_lo, g_hi))
        if len(pair_keys) == 0:
            return
        g_count = g_hi - g_lo
        ious_all = ev.ious
        mats = []
        for pk, dc, gc in zip(pair_keys.tolist(), d_count.tolist(), g_count.tolist()):
            m = np.asarray(ious_all[(int(self.img_ids[pk % self.nI]), int(self.cat_ids[pk // self.nI]))])
            if m.shape != (dc, gc):
                self.error = "bootstrap unavailable: engine IoU matrices have an unexpected layout"
                return
            mats.append(m)
        if np.isnan(np.concatenate([m.ravel() for m in mats])).any():
            self.error = "bootstrap unavailable: NaN IoU values"
            return
        gp = 1 << np.ceil(np.log2(g_count)).astype(int)  # bucket by padded GT count
        jobs = []
        for size in np.unique(gp):
            sel = np.flatnonzero(gp == size)
            sel = sel[np.argsort(-d_count[sel], kind="stable")]
            # two interleaved halves (each still sorted by detection count): one per thread;
            # pairs are independent and write disjoint rows
            jobs += [(int(size), half) for half in (sel[0::2], sel[1::2]) if len(half)]
        args = (mats, d_start, d_count, g_lo, g_count, gorder, g_crowd, g_ig)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: self._match_bucket(job[0], job[1], *args), jobs))

    def _match_bucket(self, G, sel, mats, d_start, d_count, g_lo, g_count, gorder, g_crowd, g_ig) -> None:  # noqa: ANN001
        P, A, T = len(sel), self.A, self.T
        D = int(d_count[sel].max())
        iou = np.full((P, D, G), -1.0)
        valid = np.zeros((P, G), bool)
        crowd = np.zeros((P, G), bool)
        ig = np.zeros((P, A, G), bool)
        for i, s in enumerate(sel.tolist()):
            dc, gc = int(d_count[s]), int(g_count[s])
            iou[i, :dc, :gc] = mats[s]
            gidx = gorder[g_lo[s]:g_lo[s] + gc]
            valid[i, :gc] = True
            crowd[i, :gc] = g_crowd[gidx]
            ig[i, :, :gc] = g_ig[gidx].T
        gtm = np.zeros((P, A, T, G), bool)
        # pairs are sorted by d_count descending: the first active[d] have a detection d
        active = np.searchsorted(-d_count[sel], -np.arange(D), "left")
        thr = self.thr[None, None, :, None]
        gi = np.arange(G)
        for d in range(D):
            n = active[d]
            io = iou[:n, d, None, None, :]  # (n,1,1,G)
            cand = (io >= thr) & (~gtm[:n] | crowd[:n, None, None, :]) & valid[:n, None, None, :]
            igb = ig[:n, :, None, :]
            vN = np.where(cand & ~igb, io, -1.0)[..., ::-1]
            vI = np.where(cand & igb, io, -1.0)[..., ::-1]
            jN, jI = vN.argmax(-1), vI.argmax(-1)
            anyN = np.take_along_axis(vN, jN[..., None], -1)[..., 0] > -0.5
            anyI = np.take_along_axis(vI, jI[..., None], -1)[..., 0] > -0.5
            m = G - 1 - np.where(anyN, jN, jI)
            matched = anyN | anyI
            gtm[:n] |= (gi == m[..., None]) & matched[..., None]
            rows = d_start[sel[:n]] + d
            self.M[rows] = matched
            self.MI[rows] = ~anyN & anyI


class Accumulator:
    """Static index structures for weighted re-accumulation of all segments at once.

    Three segmented prefix sums per resample, all int32: ``B`` (detections inside the area range,
    per (area, category)), ``C`` (corrections per (area, threshold, category): minus detections
    in range matched to an ignored GT, plus true positives outside the range) and ``T`` (the true
    positives themselves). ``B`` and ``C`` segments start with a zero-weight dummy (image index
    ``nI``), so every TP entry has a valid "last element at or before me" index.
    """

    def __init__(self, mt: Matched) -> None:
        self.mt = mt
        A, T, K = mt.A, mt.T, mt.K
        dummy = mt.nI
        tp = mt.M & ~mt.MI
        # accumulation order: category, -score, image, rank (pycocotools' mergesort over images)
        acc = np.lexsort((mt.rank, mt.d_img, -mt.d_score, mt.d_cat))
        a_img, a_cat = mt.d_img[acc], mt.d_cat[acc]
        tp_a, m_a, mi_a, oor_a = tp[acc], mt.M[acc], mt.MI[acc], mt.oor[acc]
        cat_start = np.searchsorted(a_cat, np.arange(K))
        karange = np.arange(K)
        B_img, B_starts, C_img, C_sign, C_starts = [], [], [], [], []
        T_img, iB, iC, seg = [], [], [], []
        offB = offC = 0
        for a in range(A):
            inB = ~oor_a[:, a]
            cntB = np.r_[0, np.cumsum(inB)]
            b_start = cntB[cat_start]  # B dets before category k
            B_img.append(np.insert(a_img[inB], b_start, dummy))
            B_starts.append(offB + b_start + karange)
            for t in range(T):
                u = np.flatnonzero(tp_a[:, a, t])
                k = a_cat[u]
                isC = (inB & m_a[:, a, t] & mi_a[:, a, t]) | (tp_a[:, a, t] & ~inB)
                cntC = np.r_[0, np.cumsum(isC)]
                cidx = np.flatnonzero(isC)
                c_start = cntC[cat_start]
                C_img.append(np.insert(a_img[cidx], c_start, dummy))
                C_sign.append(np.insert(np.where(inB[cidx], -1, 1), c_start, 0))
                C_starts.append(offC + c_start + karange)
                T_img.append(a_img[u])
                iB.append(offB + cntB[u + 1] + k)
                iC.append(offC + cntC[u + 1] + k)
                seg.append((a * T + t) * K + k)
                offC += len(cidx) + K
            offB += int(inB.sum()) + K

        def cat(xs: list, dt: Any = np.int64) -> np.ndarray:
            return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

        self.B_img, self.B_starts = cat(B_img), cat(B_starts)
        self.C_img, self.C_starts, self.C_sign = cat(C_img), cat(C_starts), cat(C_sign, np.int32)
        self.T_img, self.iB, self.iC, self.seg = cat(T_img), cat(iB), cat(iC), cat(seg)
        NT = len(self.T_img)
        self.first = np.r_[True, self.seg[1:] != self.seg[:-1]] if NT else np.zeros(0, bool)
        self.first_idx = np.flatnonzero(self.first)
        self.seg_of_first = self.seg[self.first_idx]
        self.seg_len = np.diff(np.r_[self.first_idx, NT])
        seg_ak = (self.seg_of_first // (T * K)) * K + self.seg_of_first % K
        self.seg_ak = seg_ak
        self.nseg = len(self.first_idx)
        offset = np.repeat(2.0 * (self.nseg - 1 - np.arange(self.nseg)), self.seg_len)
        self.offset_rev = np.ascontiguousarray(offset[::-1])
        self.rev_starts = (NT - (self.first_idx + self.seg_len))[::-1].copy()  # segments, reversed
        # recall (AR) tables: per image, TPs with rank < maxDet summed over the thresholds (or at one
        # threshold), per (area, maxDet, threshold) combination and category, in summarize()'s order:
        # detection AR1/AR10/AR100 then per area; keypoints (summarizeKps) AR, AR50, AR75 then per area
        self.t50 = int(np.argmin(np.abs(mt.thr - 0.5)))
        self.t75 = int(np.argmin(np.abs(mt.thr - 0.75)))
        last = mt.max_dets[-1]
        firsts = ([(0, last, None), (0, last, self.t50), (0, last, self.t75)] if mt.keypoints
                  else [(0, m, None) for m in mt.max_dets])
        self.ar_combos: list[tuple[int, int, int | None]] = firsts + [(a, last, None) for a in range(1, A)]
        self.stat_names = KP_STAT_NAMES if mt.keypoints else STAT_NAMES
        tps = np.zeros((mt.nI, len(self.ar_combos), K))
        for c, (a, m, t) in enumerate(self.ar_combos):
            sel = mt.rank < m
            hits = tp[sel, a, :].sum(1) if t is None else tp[sel, a, t]
            tps[:, c, :] = np.bincount(
                mt.d_img[sel] * K + mt.d_cat[sel], weights=hits, minlength=mt.nI * K
            ).reshape(mt.nI, K)
        self.tps = tps.reshape(mt.nI, -1)
        self.npig = mt.npig.reshape(mt.nI, -1).astype(float)
        grid = np.arange(len(mt.rec_thrs))
        self.above = mt.rec_thrs > grid / (len(grid) - 1)  # grid points above the float k/100

    def linear(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """npig per (area, category) and the AR numerators: one matrix product for all resamples."""
        Wf = W.astype(float)
        return Wf @ self.npig, Wf @ self.tps

    def _recall_points(self, y: np.ndarray) -> np.ndarray:
        """How many recall thresholds are <= rc, given ``y = 100 * rc`` (pycocotools-exact).

        ``searchsorted(recThrs, rc, 'right')`` without the search: ``floor(y) + 1``, except when
        ``100 * tp / npig`` is an integer ``k`` exactly. Then ``rc`` is the float nearest to ``k/100``
        whatever ``tp`` and ``npig`` are, so whether ``recThrs[k] <= rc`` depends on ``k`` only
        (``linspace`` puts a few grid points one ulp above ``k/100``): a 101-entry table.
        """
        y += 1e-9
        k = y.astype(np.int32)  # y <= 100 + 1e-9, so k <= 100
        # near-integers first (a vectorised compare), then the 101-entry table on those few
        cand = np.flatnonzero((y - k) < 2e-9)
        if len(cand):
            cand = cand[self.above[k[cand]]]
            k[cand] -= 1
        k += 1
        return k

    @staticmethod
    def _seg_cumsum(x: np.ndarray, starts: np.ndarray, head_is_dummy: bool) -> np.ndarray:
        """In-place segmented inclusive cumsum of a 1-D int32 array."""
        if len(starts) > 1:
            totals = np.add.reduceat(x, starts, dtype=np.int32)
            if head_is_dummy:
                x[starts[1:]] = -totals[:-1]
            else:
                x[starts[1:]] -= totals[:-1]
        return np.cumsum(x, dtype=np.int32, out=x)

    def _counts(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per TP entry: non-ignored detections ``n`` (tp + fp) and true positives ``tp`` so far."""
        n = self._seg_cumsum(w[self.B_img], self.B_starts, True)[self.iB]
        if len(self.C_img):
            wC = w[self.C_img]
            wC *= self.C_sign
            n += self._seg_cumsum(wC, self.C_starts, True)[self.iC]
        tp = self._seg_cumsum(w[self.T_img], self.first_idx, False)
        return n, tp

    def exact_precision(self) -> np.ndarray:
        """pycocotools' ``precision[:, :, :, :, maxDets[-1]]`` (T, R, K, A), bit for bit, all-ones weights.

        Per segment the interpolated precision at recall threshold ``r`` is the envelope at the first
        TP with ``rc >= r`` (``searchsorted(rc, recThrs, 'left')``; ignored and FP entries never
        start a new recall level): ``np.repeat(env, cov)``, then 0 past the last recall (the
        IndexError pycocotools swallows). The envelope is an exact per-segment suffix maximum here
        (the resample path's offset trick rounds). -1 where the category has no GT in the area
        range, 0 where it has GT but no true positive.
        """
        mt = self.mt
        A, T, K, R = mt.A, mt.T, mt.K, len(mt.rec_thrs)
        npig = mt.npig.sum(0)  # (A, K)
        q = np.zeros((A * T * K, R))
        if self.nseg:
            w = np.ones(mt.nI + 1, np.int32)
            w[-1] = 0
            n, tp = self._counts(w)
            tpf = tp.astype(float)
            pr = tpf / (n.astype(float) + EPS)  # tp / (fp + tp + eps), fp + tp exact
            npig_seg = npig.reshape(-1)[self.seg_ak].astype(float)
            y = np.repeat(100.0 / npig_seg, self.seg_len) * tpf
            nr = self._recall_points(y)
            cov = np.empty_like(nr)
            cov[0] = nr[0]
            np.subtract(nr[1:], nr[:-1], out=cov[1:])
            cov[self.first_idx] = nr[self.first_idx]
            env = np.empty_like(pr)
            for s, ln in zip(self.first_idx.tolist(), self.seg_len.tolist()):
                env[s:s + ln] = np.maximum.accumulate(pr[s:s + ln][::-1])[::-1]
            tot = np.add.reduceat(cov, self.first_idx)  # recall thresholds reached per segment
            col = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
            q[np.repeat(self.seg_of_first, tot), col] = np.repeat(env, cov)
        prec = q.reshape(A, T, K, R).transpose(1, 3, 2, 0).copy()  # (T, R, K, A)
        prec[:, :, (npig == 0).T] = -1.0
        return prec

    def _segment_ap(self, w: np.ndarray, npig: np.ndarray) -> np.ndarray:
        """101-point AP of every non-empty (area, threshold, category) segment for one resample.

        ``w``: image multiplicities with a trailing 0 (the dummy); ``npig``: (A*K,) GT counts.
        One resample at a time keeps the working set (a few MB) in cache.
        """
        n, tp = self._counts(w)
        tp = tp.astype(float)
        npig_seg = npig[self.seg_ak]
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.repeat(np.where(npig_seg > 0, 100.0 / npig_seg, 0.0), self.seg_len)
        y *= tp
        nr = self._recall_points(y)
        pr = n.astype(float)
        pr += EPS
        np.divide(tp, pr, out=pr)  # pycocotools' precision tp / (tp + fp + eps), bit for bit
        cov = np.empty_like(nr)
        cov[0] = nr[0]
        np.subtract(nr[1:], nr[:-1], out=cov[1:])
        cov[self.first_idx] = nr[self.first_idx]
        # precision envelope: suffix maximum per segment, computed forward on the reversed
        # entries; per-segment offsets keep one segment's values from leaking into the next
        env = np.add(pr[::-1], self.offset_rev)
        np.maximum.accumulate(env, out=env)
        env -= self.offset_rev
        env *= cov[::-1]
        return np.add.reduceat(env, self.rev_starts)[::-1] / len(self.mt.rec_thrs)

    def segments(
        self, W: np.ndarray, npig: np.ndarray, ar: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """AP per (resample, area, threshold, category), npig per (resample, area, category), AR tables."""
        mt = self.mt
        A, T, K = mt.A, mt.T, mt.K
        R = W.shape[0]
        ap = np.zeros((R, A * T * K))
        if self.nseg:
            w = np.zeros(mt.nI + 1, np.int32)  # last entry: the zero-weight dummy
            for r in range(R):
                w[:-1] = W[r]
                ap[r, self.seg_of_first] = self._segment_ap(w, npig[r])
        return ap.reshape(R, A, T, K), npig.reshape(R, A, K), ar.reshape(R, len(self.ar_combos), K)

    def stats(
        self, W: np.ndarray, lin: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The summarize() stats (:attr:`stat_names`; NaN where undefined) and per-class AP per resample."""
        mt = self.mt
        npig, ar = self.linear(W) if lin is None else lin
        ap, npig, ar = self.segments(W, npig, ar)
        valid = npig > 0  # (R, A, K)
        apv = np.where(valid[:, :, None, :], ap, np.nan)
        R = len(W)
        out = [
            nanmean(apv[:, 0].reshape(R, -1)),
            nanmean(apv[:, 0, self.t50]),
            nanmean(apv[:, 0, self.t75]),
        ]
        out += [nanmean(apv[:, a].reshape(R, -1)) for a in range(1, mt.A)]
        for c, (a, _m, t) in enumerate(self.ar_combos):
            n_thr = mt.T if t is None else 1
            rec = np.where(valid[:, a], ar[:, c] / (n_thr * np.where(valid[:, a], npig[:, a], 1)), np.nan)
            out.append(nanmean(rec))
        per_class = nanmean(apv[:, 0].transpose(0, 2, 1))  # (R, K): mean over thresholds
        return np.stack(out, axis=1), per_class
