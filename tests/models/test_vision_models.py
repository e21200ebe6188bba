"""The embedded vision models on real inputs: rapidocr reads rendered text, Haar finds pasted faces."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.core.predictions import ClassScores, Detections, TextDetections
from gapbench.metrics.ocr import box_iou
from gapbench.models.registry import load_model


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "vision-cache"))


def test_bare_names_resolve():
    from gapbench.models.builtin import BUILTINS

    assert {"rapidocr", "haar-frontalface"} <= set(BUILTINS.names())


def test_haar_finds_the_composited_faces():
    from gapbench.data.faces import faces

    model = load_model("haar-frontalface")
    assert model.name == "builtin:haar-frontalface"
    found = total = 0
    for s in faces(n=20)[:3]:
        (det,) = model.predict([model.preprocess(s.input)])
        assert isinstance(det, Detections) and len(det.scores) == len(det.boxes)
        for g in s.reference["boxes"]:
            total += 1
            found += any(box_iou(g, d) >= 0.5 for d in det.boxes)
    assert found >= total - 1 and total >= 4


def test_haar_classifier_view_does_not_change_the_adapter():
    from gapbench.data.faces import faces_cls

    model = load_model("builtin:haar-frontalface")
    view = model.for_task("image-classification")
    assert view is not model and model.for_task("object-detection") is model
    samples = faces_cls()
    picked = [samples[0], samples[1], samples[150], samples[199]]
    outs = view.predict([view.preprocess(s.input) for s in picked])
    assert all(isinstance(o, ClassScores) and len(o.scores) == 2 for o in outs)
    assert [int(np.argmax(o.scores)) for o in outs] == [s.reference for s in picked]


def test_haar_rejects_a_bad_input_shape():
    from gapbench.errors import InputError

    with pytest.raises(InputError, match="haar"):
        load_model("haar-frontalface").preprocess(np.zeros((2, 2, 2, 2)))


@pytest.mark.slow
def test_rapidocr_reads_rendered_text():
    from gapbench.data.ocr_scenes import ocr_scenes

    model = load_model("rapidocr")
    assert model is load_model("builtin:rapidocr")  # one shared engine
    samples = ocr_scenes()[:2]
    outs = model.predict([model.preprocess(s.input) for s in samples])
    read = 0
    for s, out in zip(samples, outs):
        assert isinstance(out, TextDetections) and len(out.texts) == len(out.boxes) == len(out.scores)
        for box, text in zip(s.reference["boxes"], s.reference["texts"]):
            hits = [t for b, t in zip(out.boxes, out.texts) if box_iou(box, b) >= 0.5]
            read += bool(hits) and hits[0].replace(" ", "") == text.replace(" ", "")
    assert read >= 4  # most lines read exactly (small rotated text may not be)
