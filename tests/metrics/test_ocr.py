"""OCR metric: hand-checked small cases, and agreement with jiwer and score_coco on the same pairs."""
from __future__ import annotations

import jiwer
import numpy as np
import pytest

from gapbench.core.predictions import TextDetections
from gapbench.errors import InputError
from gapbench.metrics.detection import BoxDetectionMetric, reference_to_annotations
from gapbench.metrics.ocr import OCRMetric, box_iou, match_lines
from gapbench.scoring.coco import score_coco


def _ref(boxes, texts):
    return {"boxes": boxes, "labels": [1] * len(boxes), "texts": texts, "width": 200, "height": 100}


def _pred(boxes, texts, scores=None):
    scores = scores or [0.9] * len(boxes)
    return TextDetections(tuple(map(tuple, boxes)), tuple(scores), (1,) * len(boxes), tuple(texts))


def _score(preds, refs):
    m = OCRMetric()
    m.update(preds, refs, ids=[f"im{k}" for k in range(len(refs))])
    return m, m.compute(ci=False)


def test_iou_and_greedy_matching():
    assert box_iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [10, 0, 10, 10]) == 0.0
    gt = [[0, 0, 10, 10], [20, 0, 10, 10]]
    # the higher-scored prediction takes GT 0 though the other overlaps it more
    preds = [[0, 0, 10, 10], [1, 0, 10, 10]]
    assert match_lines(gt, preds, [0.5, 0.9]) == [(0, 1)]
    # IoU exactly 0.5 matches (>=); below does not
    assert match_lines([[0, 0, 10, 10]], [[0, 0, 10, 5]], [1.0]) == [(0, 0)]
    assert match_lines([[0, 0, 10, 10]], [[0, 0, 10, 4.9]], [1.0]) == []


def test_hand_checked_rates():
    # image 0: "abc" read as "abd" (1 substitution of 3 chars, 1 of 1 word)
    # image 1: GT "hello world" not found (11 chars, 2 words deleted); a stray "xy" (2 chars, 1 word inserted)
    refs = [_ref([[0, 0, 30, 10]], ["abc"]), _ref([[0, 0, 50, 10]], ["hello world"])]
    preds = [_pred([[1, 0, 30, 10]], ["abd"]), _pred([[100, 50, 20, 10]], ["xy"])]
    _, res = _score(preds, refs)
    assert res.metrics["cer"].value == pytest.approx((1 + 11 + 2) / (3 + 11))
    assert res.metrics["wer"].value == pytest.approx((1 + 2 + 1) / (1 + 2))
    assert res.metrics["cer_matched"].value == pytest.approx(1 / 3)
    assert res.metrics["gt_lines"].value == 2 and res.metrics["matched_lines"].value == 1
    assert res.metrics["predicted_lines"].value == 2
    assert res.records[1] == {"sample_id": "im1", "char_errors": 13, "ref_chars": 11, "word_errors": 3,
                              "ref_words": 2, "gt_lines": 1, "matched_lines": 0, "predicted_lines": 1}


def test_no_prediction_is_all_deletions_and_perfect_is_zero():
    refs = [_ref([[0, 0, 30, 10], [0, 20, 30, 10]], ["ab", "cd e"])]
    _, res = _score([_pred([], [])], refs)
    assert res.metrics["cer"].value == 1.0 and res.metrics["wer"].value == 1.0
    assert np.isnan(res.metrics["cer_matched"].value)
    assert res.metrics["AP"].value == 0.0
    _, res = _score([_pred([[0, 0, 30, 10], [0, 20, 30, 10]], ["ab", "cd e"])], refs)
    assert res.metrics["cer"].value == 0.0 and res.metrics["AP"].value == pytest.approx(1.0)


def test_consistent_with_jiwer_and_score_coco():
    rng = np.random.default_rng(0)
    words = ["open", "market", "north", "exit", "cafe"]
    refs, preds, gt_json, dt_json = [], [], {"images": [], "annotations": [], "categories": [{"id": 1, "name": "text"}]}, []
    pairs_ref, pairs_hyp = [], []
    for k in range(25):
        boxes, texts, pboxes, ptexts, pscores = [], [], [], [], []
        for j in range(3):
            b = [10 + 60 * j, 10 + 5 * k % 40, 50, 12]
            t = " ".join(rng.choice(words, size=2))
            boxes.append(b)
            texts.append(t)
            gt_json["annotations"].append({"id": len(gt_json["annotations"]) + 1, "image_id": k + 1, "category_id": 1,
                                           "bbox": b, "area": 50 * 12, "iscrowd": 0})
            if rng.random() < 0.8:  # found, slightly off, text with a typo now and then
                pb = [b[0] + rng.integers(-3, 4), b[1] + rng.integers(-2, 3), 50, 12]
                pt = t if rng.random() < 0.6 else t.replace("e", "c")
                s = float(rng.random())
                pboxes.append(pb)
                ptexts.append(pt)
                pscores.append(s)
                dt_json.append({"image_id": k + 1, "category_id": 1, "bbox": [float(v) for v in pb], "score": s})
                if box_iou(b, pb) >= 0.5:
                    pairs_ref.append(t)
                    pairs_hyp.append(pt)
        refs.append({**_ref(boxes, texts), "width": 300, "height": 100})
        preds.append(_pred(pboxes, ptexts, pscores))
        gt_json["images"].append({"id": k + 1, "width": 300, "height": 100})
    m = OCRMetric()
    m.update(preds, refs, ids=[str(k + 1) for k in range(25)])
    res = m.compute(ci=False)
    assert res.metrics["cer_matched"].value == pytest.approx(jiwer.cer(pairs_ref, pairs_hyp))
    assert res.metrics["wer_matched"].value == pytest.approx(jiwer.wer(pairs_ref, pairs_hyp))
    coco = score_coco(gt_json, dt_json, ci=False)
    for name in ("AP", "AP50", "AP75", "AR100", "APs", "ARl"):
        a, b = res.metrics[name].value, coco.metrics[name].value
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12), name


def test_merge_and_state_dict_equal_one_shot():
    refs = [_ref([[0, 0, 30, 10]], ["abc"]), _ref([[0, 0, 50, 10]], ["hello"]), _ref([[5, 5, 20, 10]], ["x"])]
    preds = [_pred([[1, 0, 30, 10]], ["abd"]), _pred([[0, 0, 50, 10]], ["hallo"]), _pred([], [])]
    ids = ["a", "b", "c"]
    whole = OCRMetric()
    whole.update(preds, refs, ids)
    left, right = OCRMetric(), OCRMetric()
    left.update(preds[:2], refs[:2], ids[:2])
    right.update(preds[2:], refs[2:], ids[2:])
    moved = OCRMetric().load_state_dict(right.state_dict())
    merged = left.merge(moved).compute(ci=False)
    one = whole.compute(ci=False)
    for k, v in one.metrics.items():
        assert (np.isnan(v.value) and np.isnan(merged.metrics[k].value)) or merged.metrics[k].value == v.value


def test_bad_predictions_and_references():
    from gapbench.core.predictions import Detections

    m = OCRMetric()
    m.update([Detections()], [_ref([[0, 0, 5, 5]], ["ab"])], ["empty"])  # nothing found: all deletions
    assert m.compute(ci=False).metrics["cer"].value == 1.0
    with pytest.raises(InputError, match="text detections"):
        m.update([Detections(((0, 0, 5, 5),), (0.5,), (1,))], [_ref([[0, 0, 5, 5]], ["ab"])], ["no-text"])
    with pytest.raises(InputError, match="text detections"):
        m.update([{"boxes": []}], [_ref([], [])], ["a"])
    with pytest.raises(InputError, match="one text per ground-truth box"):
        m.update([_pred([], [])], [_ref([[0, 0, 1, 1]], [])], ["a"])


def test_box_reference_conversion_and_out_of_frame():
    anns, dropped = reference_to_annotations(
        {"boxes": [[0, 0, 4, 5], [10, 10, 0, 3]], "labels": [2, 2], "areas": [7.0, 1.0],
         "area_boxes": [[0, 0, 2, 5], [9, 9, 2, 2]]}, "x")
    assert dropped == 1 and anns == [{"bbox": [0.0, 0.0, 4.0, 5.0], "category_id": 2, "area": 14.0, "iscrowd": 0}]
    m = BoxDetectionMetric([{"id": 1, "name": "face"}])
    m.update([_pred([[0, 0, 4, 4]], ["-"])], [{"boxes": [[0, 0, 4, 4], [5, 5, 0, 0]], "labels": [1, 1]}], ["a"])
    res = m.compute(ci=False)
    assert res.metrics["AP"].value == pytest.approx(1.0) and "out of the frame" in " ".join(res.notes)
    with pytest.raises(InputError, match="categories"):
        BoxDetectionMetric().update([_pred([], [])], [{"boxes": []}], ["a"])
