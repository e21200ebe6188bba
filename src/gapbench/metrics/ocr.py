"""End-to-end OCR: text-line detection AP and the character/word error of what was read.

One result per cell holds

* the 12 COCO names (``AP``, ``AP50``, ... ``ARl``) for the line boxes, from
  :class:`gapbench.metrics.detection.BoxDetectionMetric` (pycocotools-exact; category ``text``);
* ``cer`` and ``wer`` end to end: per image, each ground-truth line is matched to at most one
  prediction -- predictions in descending score order (ties in input order) each take the
  still-unmatched GT line of highest IoU, if that IoU is >= 0.5 (COCO's greedy matching at one
  threshold, except that an IoU tie goes to the first GT line, where pycocotools takes the last).
  A matched pair is aligned by jiwer (:func:`gapbench.metrics.wer.align_counts`, jiwer's default
  character / word tokenisation, no normaliser); an unmatched GT line counts all its units as
  deletions; an unmatched prediction all its units as insertions.
  ``cer = (S + D + I) / (S + D + H)`` summed over the corpus (the GT units), so it is defined
  whenever there is GT text;
* ``cer_matched`` / ``wer_matched``: the same over matched pairs only (recognition quality of
  what was found), and the counts ``gt_lines``, ``matched_lines``, ``predicted_lines``.

The state is the component base's: one row per image of the char and word S/D/I/H (end to end
and matched), merged exactly across shards; the bootstrap resamples images. The detection part
keeps its own per-image state beside it and merges with it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gapbench.core.metric import COUNT, FRACTION_DOWN, ComponentMetric, MetricInfo, check_batch
from gapbench.core.predictions import Detections, TextDetections
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError
from gapbench.metrics.coco import METRIC_NAMES
from gapbench.metrics.detection import BoxDetectionMetric
from gapbench.metrics.wer import align_counts, tokenize

IOU_THRESHOLD = 0.5
TEXT_CATEGORIES = [{"id": 1, "name": "text"}]
# columns of a row: end-to-end char SDIH, word SDIH, matched char SDIH, matched word SDIH, lines
_BLOCKS = ("cer", "wer", "cer_matched", "wer_matched")
_LINES = ("gt_lines", "matched_lines", "predicted_lines")


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes (COCO's, without crowd handling)."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match_lines(gt_boxes: Sequence[Sequence[float]], pred_boxes: Sequence[Sequence[float]],
                scores: Sequence[float], threshold: float = IOU_THRESHOLD) -> list[tuple[int, int]]:
    """``(gt index, prediction index)`` pairs by the greedy rule of the module docstring."""
    order = sorted(range(len(pred_boxes)), key=lambda j: -float(scores[j]))  # stable: ties in input order
    taken: set[int] = set()
    pairs = []
    for j in order:
        best, best_iou = -1, threshold
        for i, g in enumerate(gt_boxes):
            if i in taken:
                continue
            iou = box_iou(g, pred_boxes[j])
            if iou >= best_iou and (best < 0 or iou > best_iou):
                best, best_iou = i, iou
        if best >= 0:
            taken.add(best)
            pairs.append((best, j))
    return pairs


def _sdih(refs: list[str], hyps: list[str], unit: str) -> np.ndarray:
    keep = [k for k, r in enumerate(refs) if tokenize(r, unit)]  # type: ignore[arg-type]
    total = np.zeros(4, dtype=np.int64)
    for row in align_counts([refs[k] for k in keep], [hyps[k] for k in keep], unit):  # type: ignore[arg-type]
        total += np.asarray(row, dtype=np.int64)
    for k in set(range(len(refs))) - set(keep):  # empty GT text: every hypothesis unit is inserted
        total[2] += len(tokenize(hyps[k], unit))  # type: ignore[arg-type]
    return total


def image_row(gt_boxes: list[Any], gt_texts: list[str], pred: TextDetections) -> np.ndarray:
    """One image's components (see ``_BLOCKS`` and ``_LINES``)."""
    pairs = match_lines(gt_boxes, list(pred.boxes), list(pred.scores))
    gi = {i for i, _ in pairs}
    pj = {j for _, j in pairs}
    refs = [gt_texts[i] for i, _ in pairs]
    hyps = [pred.texts[j] for _, j in pairs]
    row = []
    for unit in ("char", "word"):
        matched = _sdih(refs, hyps, unit)
        e2e = matched.copy()
        e2e[1] += sum(len(tokenize(gt_texts[i], unit)) for i in range(len(gt_texts)) if i not in gi)  # type: ignore[arg-type]
        e2e[2] += sum(len(tokenize(pred.texts[j], unit)) for j in range(len(pred.texts)) if j not in pj)  # type: ignore[arg-type]
        row.append((e2e, matched))
    (ce, cm), (we, wm) = row
    return np.concatenate([ce, we, cm, wm, [len(gt_texts), len(pairs), len(pred.texts)]])


class OCRMetric(ComponentMetric):
    """Text-line AP (COCO) and end-to-end CER/WER in one result (see the module docstring)."""

    name = "ocr"
    unit = "image"
    dtype = np.int64
    declared: dict[str, MetricInfo] = {
        "cer": FRACTION_DOWN, "wer": FRACTION_DOWN, "cer_matched": FRACTION_DOWN, "wer_matched": FRACTION_DOWN,
        **{n: MetricInfo(True, "fraction") for n in METRIC_NAMES},
        **{n: COUNT for n in _LINES},
    }

    def __init__(self, iou_threshold: float = IOU_THRESHOLD) -> None:
        super().__init__()
        self.iou_threshold = float(iou_threshold)
        self.detection = BoxDetectionMetric(TEXT_CATEGORIES)

    def config(self) -> dict[str, Any]:
        return {"iou_threshold": self.iou_threshold}

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        preds, refs, id_list = check_batch(predictions, references, ids)
        offset = len(self.ids)
        rows = []
        for k, (pred, ref) in enumerate(zip(preds, refs)):
            where = f"image {id_list[k] if id_list else offset + k}"
            if isinstance(pred, Detections) and not isinstance(pred, TextDetections) and not pred.boxes:
                pred = TextDetections()  # nothing detected (e.g. a skipped sample counted as an error)
            if not isinstance(pred, TextDetections):
                raise InputError(None, where, "text detections (boxes with a text per box)", type(pred).__name__)
            if len(pred.texts) != len(pred.boxes) or len(pred.scores) != len(pred.boxes):
                raise InputError(None, where, "one text and one score per box",
                                 (len(pred.boxes), len(pred.scores), len(pred.texts)))
            boxes, texts = list(ref.get("boxes", [])), list(ref.get("texts", []))
            if len(boxes) != len(texts):
                raise InputError(None, where, "one text per ground-truth box", (len(boxes), len(texts)))
            keep = [i for i, b in enumerate(boxes) if float(b[2]) > 0 and float(b[3]) > 0]  # out of frame: gone
            rows.append(image_row([boxes[i] for i in keep], [texts[i] for i in keep], pred))
        self.add_units(np.asarray(rows, dtype=np.int64).reshape(-1, 19), id_list)
        det_ids = id_list if id_list is not None else [str(offset + k) for k in range(len(refs))]
        self.detection.update(preds, refs, det_ids)

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for b, name in enumerate(_BLOCKS):
            s, d, i, h = (totals[:, 4 * b + k] for k in range(4))
            den = s + d + h
            with np.errstate(divide="ignore", invalid="ignore"):
                out[name] = np.where(den > 0, (s + d + i) / np.where(den > 0, den, 1), np.nan)
        for k, name in enumerate(_LINES):
            out[name] = totals[:, 16 + k]
        return out

    def interval_names(self, names: Sequence[str]) -> list[str]:
        return [n for n in _BLOCKS if n in names]

    def merge(self, other: OCRMetric) -> OCRMetric:  # type: ignore[override]
        super().merge(other)
        self.detection.merge(other.detection)
        return self

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["detection"] = self.detection.state_dict()
        return state

    def load_state_dict(self, state: Any) -> OCRMetric:
        super().load_state_dict(state)
        self.detection.load_state_dict(state["detection"])
        return self

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for uid, r in zip(self.unit_ids(), rows.tolist()):
            out.append({"sample_id": uid, "char_errors": int(sum(r[0:3])), "ref_chars": int(r[0] + r[1] + r[3]),
                        "word_errors": int(sum(r[4:7])), "ref_words": int(r[4] + r[5] + r[7]),
                        "gt_lines": int(r[16]), "matched_lines": int(r[17]), "predicted_lines": int(r[18])})
        return out

    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        text = super().compute(bootstrap=bootstrap, seed=seed, ci=ci)
        det = self.detection.compute(bootstrap=bootstrap, seed=seed, ci=ci)
        metrics = dict(text.metrics)
        metrics.update(det.metrics)
        totals = self.table().sum(axis=0)
        for name, cols in (("cer", 0), ("cer_matched", 8)):
            if totals[cols] + totals[cols + 1] + totals[cols + 3] == 0:
                text.notes.append(f"{name}: no ground-truth characters{' matched' if cols else ''}: undefined")
        info = {**text.info, "detection": det.info, "iou_threshold": self.iou_threshold,
                "matching": "greedy by score, IoU >= threshold"}
        return ScoreResult(self.name, metrics, {**det.groups, **text.groups}, info, text.notes + det.notes,
                           text.records)
