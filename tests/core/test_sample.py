from __future__ import annotations

import numpy as np

from gapbench.core.predictions import (
    ClassScores,
    Detections,
    SegMask,
    SpeakerTurns,
    Transcript,
    prediction_from_json,
    prediction_to_json,
)
from gapbench.core.sample import Sample, content_hash


def test_key_depends_on_content_not_identity() -> None:
    a = Sample("x", np.arange(4.0), 1)
    b = Sample("x", np.arange(4.0), 1)
    assert a.key == b.key
    assert Sample("x", np.arange(4.0), 2).key != a.key
    assert Sample("x", np.arange(4, dtype=np.float32), 1).key != a.key  # dtype matters
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})


def test_predictions_round_trip() -> None:
    preds = [
        Transcript("hello world"),
        ClassScores.of([0.1, 0.9]),
        Detections(((1.0, 2.0, 3.0, 4.0),), (0.5,), (3,)),
        SpeakerTurns(((0.0, 1.5, "A"), (1.5, 2.0, "B"))),
    ]
    for p in preds:
        assert prediction_from_json(prediction_to_json(p)) == p
    m = SegMask(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(prediction_from_json(prediction_to_json(m)).mask, m.mask)
