"""COCO detection / instance-segmentation mAP, identical to pycocotools' 12 ``summarize()`` stats.

The engine is faster-coco-eval (several times faster than pycocotools): it computes the IoUs, the
matching and the accumulated precision/recall arrays. Its stats are *not* reported as they are:
it stores a precision of exactly 1.0 where pycocotools computes ``tp / (tp + fp + eps)`` =
1/(1+eps) (tp=1, fp=0; kept by the envelope when the second non-ignored detection is not a TP),
which moves some stats by an ulp. The reported point values (12 stats and per-class AP) are
pycocotools' bit for bit: the precision array with those entries corrected, averaged exactly as
``COCOeval.summarize()`` does (:func:`gapbench.metrics.coco_exact.summarize`). Without CI the
affected segments are found by matching only the top few detections of each category
(:func:`~gapbench.metrics.coco_exact.exact_point_from_engine`, ~0.1 s on 5,000 images); with
CI the bootstrap's full matching re-accumulates the whole maxDets=100 precision array
(:meth:`~gapbench.metrics.coco_bootstrap.Accumulator.exact_precision`), which must equal the
engine's except for those entries. Either way, if the result strays from the engine's stats by
more than 1e-9 (a matching bug), the engine's values are reported with a note.

The 95% intervals are bias-corrected percentile (BC) bootstrap intervals over images
(:mod:`gapbench.metrics.coco_bootstrap`, :func:`gapbench.metrics.intervals.bc_percentile_interval`),
per stat and per class: the per-image matching is done once, and each resample only
re-accumulates with image multiplicities, using ``gapbench.metrics.intervals``' resampling
convention (seeded, shared by every metric). BC moves the percentiles, so an interval lies in
[0, 1] and contains the reported value; where it cannot be given (a class in too few images: fewer
than 20 distinct resampled APs; a degenerate bias correction) the stat or class has no interval
and a note says why.

Conventions (pycocotools' own): IoU thresholds ``linspace(.5, .95, 10)``, 101 recall points,
maxDets 1/10/100 per image *and category*, inclusive area bounds on the GT ``area`` field, crowd
GT matched many times and ignored, ``ignore`` overwritten by ``iscrowd``, equal scores kept in
input order, a category without GT excluded (its per-class AP is null).
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from gapbench.core.coco_format import CocoInput, validate_dt, validate_gt
from gapbench.core.metric import FRACTION_UP, Metric, check_batch
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.errors import InputError
from gapbench.metrics.coco_accumulate import STAT_NAMES
from gapbench.metrics.coco_params import KP_STAT_NAMES, CocoParams, check_keypoints
from gapbench.metrics.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_DISTINCT, MIN_UNITS

METRIC_NAMES = STAT_NAMES  # the one list, in pycocotools' summarize() order


def _silent(*_: Any, **__: Any) -> None:
    return None


def _prepare_for_engine(inp: CocoInput) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Copies the engine may mutate; string image ids become ints in pycocotools' sorted order."""
    gt, dt = inp.gt, inp.dt
    ids = [img["id"] for img in gt["images"]]
    str_ids = any(type(i) is str for i in ids)
    if str_ids and not all(type(i) is str for i in ids):
        raise InputError(inp.gt_file, None, "image ids all of one type (all integers or all strings)")
    if not inp.owned or str_ids:
        remap = {s: r for r, s in enumerate(sorted(ids), start=1)} if str_ids else None
        images = [dict(img, id=remap[img["id"]]) for img in gt["images"]] if remap else gt["images"]
        anns = [dict(a, image_id=remap[a["image_id"]]) if remap else dict(a) for a in gt["annotations"]]
        dt = [dict(d, image_id=remap[d["image_id"]]) if remap else dict(d) for d in dt]
        gt = {**gt, "images": images, "annotations": anns}
    return gt, dt


def run_engine(inp: CocoInput, iou_type: str, params: CocoParams | None = None) -> Any:
    """faster-coco-eval's ``COCOeval_faster`` (with ``params`` applied) after evaluate/accumulate/summarize."""
    from faster_coco_eval import COCO, COCOeval_faster

    gt, dt = _prepare_for_engine(inp)
    logging.getLogger("faster_coco_eval").setLevel(logging.ERROR)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cgt = COCO(gt, print_function=_silent)
        cdt = cgt.loadRes(dt)
    params = params or CocoParams()
    sigmas = list(params.sigmas()) if iou_type == "keypoints" else None
    ev = COCOeval_faster(cgt, cdt, iou_type, print_function=_silent, kpt_oks_sigmas=sigmas)
    params.apply(ev.params)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev


def _nan(x: float) -> float:
    return float("nan") if x <= -1 else float(x)


def _per_class_ap(ev: Any) -> dict[int, float]:
    """AP@[.5:.95] per category id from the engine's precision (fallback when the exact path fails)."""
    prec = ev.eval["precision"]
    out = {}
    for k, cid in enumerate(ev.params.catIds):
        s = prec[:, :, k, 0, -1]
        out[int(cid)] = float(np.mean(s[s > -1])) if np.any(s > -1) else float("nan")
    return out


def evaluate_coco(
    inp: CocoInput,
    *,
    iou_type: str = "bbox",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
    params: CocoParams | None = None,
) -> ScoreResult:
    """Score validated input: pycocotools-exact point values + (optionally) the image bootstrap.

    ``params``: the COCOeval ``Params`` changes (:mod:`gapbench.metrics.coco_params`). Keypoints
    report pycocotools' 10 ``summarizeKps`` stats (OKS instead of IoU; the same image bootstrap);
    changed IoU thresholds keep intervals only when 0.5 and 0.75 are among them (the AP50/AP75
    slices the re-accumulation reads)."""
    from gapbench.metrics.coco_bootstrap import bootstrap_coco
    from gapbench.metrics.coco_exact import exact_point_from_engine

    params = params or CocoParams()
    params.check(iou_type)
    stat_names = KP_STAT_NAMES if iou_type == "keypoints" else METRIC_NAMES
    if iou_type == "keypoints":
        check_keypoints(inp.gt, inp.dt, inp.gt_file, inp.dt_file, params.sigmas())
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    ev = run_engine(inp, iou_type, params)
    timing["engine"] = time.perf_counter() - t0
    engine_stats = np.asarray(ev.stats[:len(stat_names)], dtype=float)
    names = {c["id"]: str(c.get("name", c["id"])) for c in inp.gt["categories"]}
    notes = list(inp.notes)
    # the maxDets summarize() reads AP at (summarizeKps: 20) is the one the re-accumulation uses
    read_at = 20 if iou_type == "keypoints" else 100
    if ci and bootstrap > 0 and params.iou_thrs is not None and not {0.5, 0.75} <= set(params.iou_thrs):
        notes.append("IoU thresholds without 0.5 and 0.75: no bootstrap intervals")
        ci = False
    elif ci and bootstrap > 0 and params.max_dets is not None and params.max_dets[-1] != read_at:
        notes.append(f"maxDets whose last is not {read_at}: no bootstrap intervals")
        ci = False
    if iou_type != "keypoints" and params.max_dets is not None and 100 not in params.max_dets:
        notes.append("AP: pycocotools' summarize() reads it at maxDets=100, which is not among the maxDets "
                     "given: null (pycocotools' -1)")
        engine_stats[0] = -1.0  # the engine reads maxDets[-1] there; pycocotools' rule is the reference
    n_img = len(ev.params.imgIds)
    cis: dict[str, tuple[float, float]] = {}
    class_cis: dict[int, tuple[float, float]] = {}
    class_reasons: dict[int, str] = {}
    exact: tuple[np.ndarray, dict[int, float]] | None = None
    if ci and bootstrap > 0:
        if n_img < MIN_UNITS:
            notes.append(f"only {n_img} image(s): no bootstrap interval")
        else:
            t1 = time.perf_counter()
            boot = bootstrap_coco(ev, bootstrap, seed)
            timing["bootstrap"] = time.perf_counter() - t1
            timing.update({f"bootstrap_{k}": v for k, v in boot.timing.items()})
            if boot.error is not None:
                notes.append(boot.error)
            elif not np.allclose(boot.point, engine_stats, atol=1e-9, rtol=0):
                notes.append("bootstrap re-accumulation disagrees with the engine; intervals omitted")
            else:
                cis = {n: boot.ci[n] for n in stat_names if n in boot.ci}
                class_cis = boot.class_ci
                notes += [f"{n}: {boot.ci_reasons[n]}" for n in stat_names if n in boot.ci_reasons]
                class_reasons = boot.class_reasons
                exact = boot.exact
                if boot.exact_note:
                    notes.append(boot.exact_note)
    if exact is None:
        t2 = time.perf_counter()
        try:
            stats_x, per_class_x, _ = exact_point_from_engine(ev)
            exact = (stats_x, per_class_x)
        except (ValueError, KeyError, IndexError) as exc:  # engine layout not as expected
            notes.append(f"pycocotools-exact point values unavailable ({exc}); engine values reported")
        timing["exact_point"] = time.perf_counter() - t2
    if exact is not None and not np.allclose(exact[0], engine_stats, atol=1e-9, rtol=0):
        notes.append("pycocotools-exact re-accumulation disagrees with the engine by more than 1e-9 "
                     "(a matching bug): the engine's values are reported")
        exact = None
    if exact is not None:
        stats = [_nan(float(x)) for x in exact[0]]
        per_class = exact[1]
    else:
        stats = [_nan(float(x)) for x in engine_stats]
        per_class = _per_class_ap(ev)
    metrics = {n: MetricValue(v, cis.get(n)) for n, v in zip(stat_names, stats)}
    # BC intervals contain the value by construction; never print one that does not
    outside = [n for n, mv in metrics.items() if mv.ci95 and not mv.ci95[0] <= mv.value <= mv.ci95[1]]
    for n in outside:
        metrics[n] = MetricValue(metrics[n].value, None)
        notes.append(f"{n}: interval does not contain the value (internal error): no interval")
    group = {}
    for cid, ap in per_class.items():
        key = names.get(cid, str(cid))
        if key in group:  # duplicate names: disambiguate by id
            key = f"{key} (id {cid})"
        cci = class_cis.get(cid) if not math.isnan(ap) else None
        if cci is not None and not cci[0] <= ap <= cci[1]:
            cci = None
            class_reasons = {**class_reasons, cid: "interval does not contain the value (internal error)"}
        group[key] = MetricValue(ap, cci)
    notes += _class_interval_notes(class_reasons, names)
    n_without = sum(1 for v in per_class.values() if math.isnan(v))
    if n_without:
        notes.append(f"{n_without} categor{'y has' if n_without == 1 else 'ies have'} no ground truth: "
                     "excluded from the means (per-class AP null)")
    info = {
        "iou_type": iou_type,
        "images": n_img,
        "gt_annotations": len(inp.gt["annotations"]),
        "detections": len(inp.dt),
        "categories": len(inp.gt["categories"]),
        "engine": "faster-coco-eval; point values pycocotools-exact",
        "resamples": bootstrap if cis else 0,
        "seed": seed,
        "timing_s": {k: round(v, 4) for k, v in timing.items()},
    }
    if not params.is_default():
        info["params"] = params.describe()
    return ScoreResult("coco", metrics, {"per_class": group}, info, notes, _image_records(inp))


def _class_interval_notes(reasons: dict[int, str], names: dict[Any, str]) -> list[str]:
    """One note per kind of refusal, naming the classes (their per-class AP has no interval)."""
    kinds: dict[str, list[str]] = {}
    for cid, why in reasons.items():
        if "distinct resampled" in why:
            kind = (f"fewer than {MIN_DISTINCT} distinct resampled APs (the class is in too few "
                    "images for a bootstrap)")
        elif "bias correction degenerate" in why:
            kind = "a degenerate bias correction (over 97.5% of resamples on one side of the value)"
        else:
            kind = why.removesuffix(": no interval")
        kinds.setdefault(kind, []).append(names.get(cid, str(cid)))
    out = []
    for kind, cls in kinds.items():
        shown = ", ".join(cls[:12]) + (f" and {len(cls) - 12} more" if len(cls) > 12 else "")
        out.append(f"no per-class interval for {len(cls)} class{'es' if len(cls) != 1 else ''} "
                   f"({kind}): {shown}")
    return out


def _image_records(inp: CocoInput) -> list[dict[str, Any]]:
    """Per-image counts for the store: ground truth (non-crowd / crowd) and detections."""
    from collections import Counter

    gt = Counter(a["image_id"] for a in inp.gt["annotations"] if not a.get("iscrowd", 0))
    crowd = Counter(a["image_id"] for a in inp.gt["annotations"] if a.get("iscrowd", 0))
    dt = Counter(d["image_id"] for d in inp.dt)
    return [
        {"id": str(img["id"]), "gt": gt[img["id"]], "crowd": crowd[img["id"]], "detections": dt[img["id"]]}
        for img in inp.gt["images"]
    ]


class COCOMetric(Metric):
    """Mergeable COCO state: per-image GT and detections, keyed by image id.

    ``update(predictions, references, ids)``: ``predictions`` a list of
    :class:`~gapbench.core.predictions.Detections` (or lists of COCO detection dicts), one per
    image; ``references`` one dict per image: ``{"annotations": [...], "width": W, "height": H}``
    (COCO annotation dicts with ``bbox``, ``category_id``, ``area``, optional ``iscrowd``,
    ``segmentation``); ``ids`` the image ids (else ``reference["id"]``). Annotation ids are
    reassigned at ``compute`` (they only serve as match markers). Shards must hold disjoint
    images; ``compute`` orders images by id, so merged shards equal the one-shot result exactly.
    """

    name = "coco"
    declared = {n: FRACTION_UP for n in METRIC_NAMES}

    def __init__(self, categories: list[dict[str, Any]], iou_type: str = "bbox") -> None:
        self.categories = [dict(c) for c in categories]
        self.iou_type = iou_type
        self._images: dict[Any, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {}

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        preds, refs, _ = check_batch(predictions, references, None)
        id_list = list(ids) if ids is not None else [r.get("id", r.get("image_id")) for r in refs]
        for image_id, pred, ref in zip(id_list, preds, refs):
            if image_id is None:
                raise InputError(None, None, "an image id (ids=... or reference['id'])")
            if image_id in self._images:
                raise InputError(None, f"image {image_id!r}", "each image once (duplicate)")
            image = {"id": image_id, **{k: ref[k] for k in ("width", "height") if k in ref}}
            anns = [dict(a, image_id=image_id) for a in ref.get("annotations", [])]
            self._images[image_id] = (image, anns, _detections_to_dicts(pred, image_id))

    def state_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot: categories, IoU type and each image's GT and detections."""
        return {"metric": f"{type(self).__module__}:{type(self).__qualname__}",
                "config": {"categories": self.categories, "iou_type": self.iou_type},
                "images": [[i, *v] for i, v in self._images.items()]}

    def load_state_dict(self, state: Any) -> COCOMetric:
        self._images = {i: (img, anns, dets) for i, img, anns, dets in state["images"]}
        return self

    def merge(self, other: COCOMetric) -> COCOMetric:
        clash = self._images.keys() & other._images.keys()
        if clash:
            raise InputError(None, f"image {next(iter(clash))!r}", "disjoint shards (image in both)")
        self._images.update(other._images)
        return self

    def to_coco(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The canonical (image-id ordered) COCO GT dict and detection list of the state."""
        images, anns, dets = [], [], []
        for image_id in sorted(self._images, key=lambda i: (type(i).__name__, i)):
            image, a, d = self._images[image_id]
            images.append(image)
            anns.extend(a)
            dets.extend(d)
        anns = [dict(a, id=i) for i, a in enumerate(anns, start=1)]
        return {"images": images, "annotations": anns, "categories": self.categories}, dets

    def compute(
        self, *, bootstrap: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, ci: bool = True
    ) -> ScoreResult:
        gt, dt = self.to_coco()
        validate_gt(gt, "<references>", self.iou_type)
        notes = validate_dt(dt, "<predictions>", gt, "<references>", self.iou_type)
        inp = CocoInput(gt, dt, "<references>", "<predictions>", owned=False, notes=notes)
        result = evaluate_coco(inp, iou_type=self.iou_type, bootstrap=bootstrap, seed=seed, ci=ci)
        # per-sample rows joinable with the runner's (by sample id), each with its predictions as
        # COCO result records (bbox xywh, category_id, score: the results-file format, less image_id)
        by_image = {str(i): d for i, (_, _, d) in self._images.items()}
        for rec in result.records:
            rec["sample_id"] = rec["id"]
            rec["predictions"] = [{k: v for k, v in d.items() if k != "image_id"} for d in by_image.get(rec["id"], [])]
        return result


def _detections_to_dicts(pred: Any, image_id: Any) -> list[dict[str, Any]]:
    if isinstance(pred, list):
        return [dict(d, image_id=image_id) for d in pred]
    boxes, scores, labels = pred.boxes, pred.scores, pred.labels
    if not (len(boxes) == len(scores) == len(labels)):
        raise InputError(None, f"image {image_id!r}", "as many boxes, scores and labels",
                         (len(boxes), len(scores), len(labels)))
    out = [
        {"image_id": image_id, "category_id": int(c), "bbox": [float(v) for v in b], "score": float(s)}
        for b, s, c in zip(boxes, scores, labels)
    ]
    masks = getattr(pred, "masks", ())
    if masks:  # instance segmentation: each detection's RLE, as in a COCO results file
        if len(masks) != len(boxes):
            raise InputError(None, f"image {image_id!r}", "one mask per box", (len(masks), len(boxes)))
        for d, m in zip(out, masks):
            d["segmentation"] = {"size": list(m["size"]), "counts": m["counts"]}
    return out
