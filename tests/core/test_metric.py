"""The component base: shards travel as JSON state dicts and merge to the one-shot result, for
every family; settings must match; errors are InputError."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gapbench.core.metric import ComponentMetric
from gapbench.core.predictions import ClassScores, SegMask, SpeakerTurns, Transcript
from gapbench.errors import InputError
from gapbench.metrics.der import DERMetric
from gapbench.metrics.segmentation import SegmentationMetric
from gapbench.metrics.topk import TopKAccuracy
from gapbench.metrics.wer import WERMetric

rng = np.random.default_rng(0)


def _batches():
    refs = ["the cat sat", "a dog", "on the mat", "", "hello world"] * 4
    hyps = [Transcript(t) for t in ["the bat sat", "a dog barked", "on mat", "noise", "hello word"] * 4]
    scores = [ClassScores.of(rng.normal(size=6)) for _ in range(20)]
    labels = [int(x) for x in rng.integers(0, 6, size=20)]
    gts = [rng.integers(0, 4, size=(6, 6)) for _ in range(20)]
    preds = [SegMask(np.where(rng.random((6, 6)) < 0.7, g, rng.integers(0, 4, size=(6, 6)))) for g in gts]
    turns = [[(0.0, 1.0 + i / 10, "A"), (1.2, 3.0, "B")] for i in range(20)]
    hyp_turns = [SpeakerTurns(((0.1, 1.1, "x"), (1.1, 2.8, "y" if i % 3 else "x"))) for i in range(20)]
    return [
        (lambda: WERMetric("word", "basic"), hyps, refs, "wer"),
        (lambda: WERMetric("char"), hyps, refs, "cer"),
        (lambda: TopKAccuracy((1, 3)), scores, labels, "top1"),
        (lambda: SegmentationMetric(4), preds, gts, "mIoU"),
        (lambda: DERMetric(collar=0.1), hyp_turns, turns, "der"),
    ]


@pytest.mark.parametrize("case", _batches(), ids=lambda c: c[3])
def test_state_dict_shards_merge_to_the_one_shot_result(case) -> None:
    make, preds, refs, name = case
    ids = [f"u{i}" for i in range(len(preds))]
    one = make()
    one.update(preds, refs, ids)
    shards = []
    for lo, hi in ((0, 7), (7, 13), (13, 20)):
        m = make()
        m.update(preds[lo:hi], refs[lo:hi], ids[lo:hi])
        shards.append(json.loads(json.dumps(m.state_dict())))  # across a process boundary
    merged = ComponentMetric.from_state_dict(shards[0])
    for s in shards[1:]:
        merged.merge(ComponentMetric.from_state_dict(s))
    a, b = one.compute(bootstrap=100, seed=2), merged.compute(bootstrap=100, seed=2)
    assert a.to_json() == b.to_json() and a.records == b.records
    assert name in one.declared and one.declared[name].unit == "fraction"


def test_merge_refuses_other_settings_and_update_errors_are_input_errors() -> None:
    with pytest.raises(InputError, match="settings"):
        WERMetric("word").merge(WERMetric("char"))
    with pytest.raises(InputError, match="settings"):
        SegmentationMetric(4).load_state_dict(SegmentationMetric(5).state_dict())
    for metric, preds, refs in ((WERMetric(), ["a"], ["a", "b"]), (TopKAccuracy(), [[0.1, 0.9]], []),
                                (SegmentationMetric(3), [np.zeros((2, 2), int)], []), (DERMetric(), [[]], [])):
        with pytest.raises(InputError):
            metric.update(preds, refs)
    with pytest.raises(InputError, match="at most|65536"):
        SegmentationMetric(100_000_000)
    with pytest.raises(InputError, match="collar"):
        DERMetric(collar=float("nan"))
