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


def test_media_inputs_hash_their_arrays_not_their_repr():
    import numpy as np

    from gapbench.core.media import Audio, ChatMessage

    a = np.zeros((64, 64, 3), np.uint8)
    b = a.copy()
    b[10, 10, 0] = 1  # repr() of both arrays is the same summary
    assert content_hash(ChatMessage("which word?", (a,))) != content_hash(ChatMessage("which word?", (b,)))
    assert content_hash(Audio(np.zeros(10, np.float32), 16000)) != content_hash(Audio(np.zeros(10, np.float32), 8000))
    assert content_hash(ChatMessage("q", (a,))) == content_hash(ChatMessage("q", (a.copy(),)))
