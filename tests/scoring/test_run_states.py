"""Every family's state splits into a header and per-sample entries that survive JSON (the store,
the records file) and rebuild into a metric that scores exactly what the original scored."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from gapbench.core.metric import ComponentMetric
from gapbench.core.predictions import Choice, ClassScores, Detections, TextDetections, Transcript
from gapbench.core.run_document import SampleRecord
from gapbench.metrics.der import DERMetric
from gapbench.metrics.detection import BoxDetectionMetric
from gapbench.metrics.mcq import ChoiceMetric
from gapbench.metrics.ocr import OCRMetric
from gapbench.metrics.segmentation import SegmentationMetric
from gapbench.metrics.topk import TopKAccuracy
from gapbench.metrics.wer import WERMetric
from gapbench.scoring.run_states import STATE_KEY, attach_states, rebuild, split_state


def _wer() -> WERMetric:
    m = WERMetric(unit="word", normalizer="basic")
    m.update([Transcript("a b c"), Transcript("a x"), Transcript("")], ["a b c", "a b", "q r"], ids=["u1", "u2", "u3"])
    return m


def _topk(binary: bool) -> TopKAccuracy:
    rng = np.random.default_rng(1)
    if binary:
        m = TopKAccuracy(k=[1])
        m.update([ClassScores(tuple([float(s)])) for s in rng.random(6)], [0, 1, 1, 0, 1, 0],
                 ids=[f"s{i}" for i in range(6)])
        return m
    m = TopKAccuracy(k=[1, 2])
    m.update([ClassScores(tuple(map(float, r))) for r in rng.random((6, 4))], [0, 1, 2, 3, 0, 1],
             ids=[f"s{i}" for i in range(6)])
    return m


def _seg() -> SegmentationMetric:
    rng = np.random.default_rng(2)
    m = SegmentationMetric(3)
    for i in range(4):
        gt = rng.integers(0, 3, size=(6, 6))
        m.add_image(np.where(rng.random((6, 6)) < 0.7, gt, 0), gt, image_id=f"im{i}")
    return m


def _der() -> DERMetric:
    m = DERMetric()
    for i in range(3):
        m.add_file(f"f{i}", [(0.0, 2.0 + i, "A"), (2.0 + i, 5.0, "B")], [(0.3, 2.5, "x"), (2.5, 5.0 - i / 4, "y")])
    return m


def _mcq() -> ChoiceMetric:
    refs = [{"answer": "A", "peds": [0, 1, 2, 3]}, {"answer": "B", "peds": [2, 0, 1, 1]}]
    m = ChoiceMetric()
    m.update([Choice("A"), Choice("C"), Choice("")], [refs[0], refs[1], refs[0]], ids=["i1", "i2", "i3"])
    return m


def _ocr() -> OCRMetric:
    m = OCRMetric()
    refs = [{"boxes": [[0, 0, 10, 5], [0, 10, 10, 5]], "texts": ["hello", "world"]}, {"boxes": [[5, 5, 8, 4]],
                                                                                       "texts": ["exit"]}]
    preds = [TextDetections(((0, 0, 10, 5),), (0.9,), (1,), ("hallo",)), TextDetections()]
    m.update(preds, refs, ids=["a", "b"])
    return m


def _boxes() -> BoxDetectionMetric:
    m = BoxDetectionMetric([{"id": 1, "name": "face"}])
    refs = [{"boxes": [[1, 1, 10, 10]], "labels": [1], "width": 32, "height": 32},
            {"boxes": [[5, 5, 8, 8], [20, 20, 6, 6]], "labels": [1, 1], "width": 32, "height": 32}]
    m.update([Detections(((1, 2, 10, 10),), (0.8,), (1,)), Detections(((5, 5, 8, 8),), (0.7,), (1,))], refs,
             ids=["p", "q"])
    return m


FAMILIES = {"wer": _wer, "topk": lambda: _topk(False), "topk-binary": lambda: _topk(True), "seg": _seg,
            "der": _der, "mcq": _mcq, "ocr": _ocr, "coco": _boxes}


def _metrics(m: Any) -> dict[str, Any]:
    """What compare runs reads: a component family's values from its summed rows; COCO's computed stats."""
    if isinstance(m, ComponentMetric):
        return {k: float(v[0]) for k, v in m.values(m.unit_rows(m.table()).sum(axis=0)[None, :]).items()}
    return {k: v.value for k, v in m.compute(ci=False).metrics.items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_split_json_rebuild_scores_the_same(family: str) -> None:
    m = FAMILIES[family]()
    header, entries = split_state(m)
    assert header is not None and entries
    header, entries = json.loads(json.dumps(header)), json.loads(json.dumps(entries))  # as stored
    ids = list(entries)
    back = rebuild(header, ids, [entries[u] for u in ids])
    assert type(back) is type(m)
    got, want = _metrics(back), _metrics(m)
    assert set(got) == set(want)
    if isinstance(m, ComponentMetric):  # each sample's row under its own id (sums alone would not show a mix-up)
        assert dict(zip(back.unit_ids(), back.table().tolist())) == dict(zip(m.unit_ids(), m.table().tolist()))
        if family == "ocr":  # the text-line detection state nested in OCR's rides along
            assert header["nested"] == ["detection"] and back.detection.to_coco() == m.detection.to_coco()
            assert back.detection.to_coco()[0]["annotations"]
    else:
        assert back.to_coco() == m.to_coco()
    for k in want:
        assert (got[k] == want[k]) or (np.isnan(got[k]) and np.isnan(want[k])), (k, got[k], want[k])


def test_attach_states_puts_each_samples_entries_in_its_record() -> None:
    m = _wer()
    recs = [SampleRecord(u, values={"x": 1}) for u in ("u1", "u2", "u3")]
    headers = attach_states(recs, [m, object()], cell=4)
    assert headers[0]["layout"] == "rows" and headers[1] is None
    assert recs[1].values[STATE_KEY] == {"cell": 4, "rows": [m.table()[1].tolist(), None]}
    assert recs[1].to_json()[STATE_KEY]["cell"] == 4


def test_records_written_before_nested_states_still_rebuild() -> None:
    """An OCR record of an earlier run holds the bare row: the rows rebuild, the nested state empty."""
    m = _ocr()
    header, entries = split_state(m)
    old_header = {k: v for k, v in header.items() if k != "nested"}
    back = rebuild(old_header, list(entries), [e["row"] for e in entries.values()])
    assert back.table().tolist() == m.table().tolist() and not back.detection.to_coco()[0]["annotations"]
