"""Model adapters: the builtin digits model, python callables (module and file), the scheme registry."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gapbench.core.metric import Metric
from gapbench.core.predictions import Choice, ClassScores, Detections, SegMask, SpeakerTurns, Transcript
from gapbench.core.registry import UnknownNameError
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.errors import InputError
from gapbench.models.base import ModelAdapter, PredictionTypeError, as_list, coerce_prediction
from gapbench.models.python_callable import PythonCallableModel
from gapbench.models.registry import SCHEMES, describe_models, load_model


class Top1(Metric):
    """A minimal accuracy metric (independent of gapbench.metrics.topk)."""

    name = "top1"

    def __init__(self) -> None:
        self.hits: list[int] = []

    def update(self, predictions, references, ids=None):
        self.hits += [int(np.argmax(p.scores) == r) for p, r in zip(predictions, references)]

    def merge(self, other):
        self.hits += other.hits
        return self

    def compute(self, *, bootstrap=1000, seed=0, ci=True):
        return ScoreResult("top1", {"top1": MetricValue(float(np.mean(self.hits)))})


@pytest.fixture(scope="module")
def digits_model():
    return load_model("builtin:digits-logreg")


def test_builtin_digits_is_deterministic(digits_model):
    again = load_model("builtin:digits-logreg")
    assert digits_model.fingerprint() == again.fingerprint()
    assert len(digits_model.fingerprint()) == 32
    assert digits_model.task_types == ("image-classification",)
    np.testing.assert_array_equal(digits_model.clf.coef_, again.clf.coef_)


def test_builtin_accuracy_matches_sklearn_accuracy_score(digits_model):
    from sklearn.metrics import accuracy_score

    from gapbench.data.embedded import sklearn_digits
    from gapbench.runner.local import run_task

    test = sklearn_digits("test")
    x = np.stack([s.input.reshape(-1) / 16.0 for s in test])
    expected = accuracy_score([s.reference for s in test], digits_model.clf.predict(x))
    result = run_task("digits", digits_model, metric=Top1(), cache=False, ci=False)
    assert result.metrics["top1"].value == pytest.approx(expected, abs=1e-12)
    assert expected > 0.9
    assert len(result.records) == len(test) == 450


def test_builtin_accuracy_with_task_metric(digits_model):
    pytest.importorskip("gapbench.metrics.topk")
    from sklearn.metrics import accuracy_score

    from gapbench.data.embedded import sklearn_digits
    from gapbench.runner.local import run_task

    test = sklearn_digits("test")
    x = np.stack([s.input.reshape(-1) / 16.0 for s in test])
    expected = accuracy_score([s.reference for s in test], digits_model.clf.predict(x))
    result = run_task("digits", digits_model, cache=False)
    assert result.metrics["top1"].value == pytest.approx(expected, abs=1e-12)
    assert result.metrics["top5"].value >= expected
    lo, hi = result.metrics["top1"].ci95
    assert lo < expected < hi


MODULE_SRC = textwrap.dedent("""
    import numpy as np
    CALLS = []

    def uniform(batch):
        CALLS.append(len(batch))
        return [np.full(10, 0.1) for _ in batch]

    def labels(batch):
        return ["b" for _ in batch]
""")


def test_python_callable_from_module(tmp_path, monkeypatch):
    (tmp_path / "my_models_mod.py").write_text(MODULE_SRC)
    monkeypatch.syspath_prepend(str(tmp_path))
    model = load_model("python:my_models_mod:uniform")
    assert isinstance(model, PythonCallableModel)
    assert model.name == "python:my_models_mod:uniform"
    assert model.for_task("image-classification") is model  # never changed to serve a task
    out = model.predict([np.zeros((8, 8))] * 3)
    assert len(out) == 3
    assert coerce_prediction("image-classification", model.postprocess(out[0])) == ClassScores((0.1,) * 10)
    fp = model.fingerprint()
    assert fp == load_model("python:my_models_mod:uniform").fingerprint()
    assert fp != load_model("python:my_models_mod:labels").fingerprint()


def test_python_callable_from_file_and_fingerprint_follows_source(tmp_path):
    path = tmp_path / "file_model.py"
    path.write_text(MODULE_SRC)
    model = load_model(f"python:{path}:uniform")
    assert model.predict([1, 2]) and model.module.CALLS == [2]
    fp1 = model.fingerprint()
    assert load_model(f"python:{path}:uniform").fingerprint() == fp1
    path.write_text(MODULE_SRC.replace("0.1", "0.2"))  # an edit changes outputs: new fingerprint
    edited = load_model(f"python:{path}:uniform")
    assert edited.fingerprint() != fp1
    assert edited.predict([0])[0][0] == pytest.approx(0.2)


def test_python_callable_errors(tmp_path):
    with pytest.raises(InputError, match="python:nocolon"):
        load_model("python:nocolon")
    (tmp_path / "m.py").write_text("x = 1\n")
    with pytest.raises(InputError, match="a callable named 'nope'"):
        load_model(f"python:{tmp_path / 'm.py'}:nope")
    with pytest.raises(FileNotFoundError):
        load_model(f"python:{tmp_path / 'missing.py'}:f")


def test_plain_callable_and_adapter_pass_through():
    def fn(batch):
        return ["x"] * len(batch)

    m = load_model(fn)
    assert isinstance(m, PythonCallableModel) and m.predict([1, 2]) == ["x", "x"]
    assert m.name.endswith("fn")
    assert load_model(m) is m


def test_unknown_scheme_and_name_suggest():
    with pytest.raises(UnknownNameError, match="did you mean 'builtin'"):
        load_model("bultin:digits-logreg")
    with pytest.raises(UnknownNameError, match="did you mean 'digits-logreg'"):
        load_model("builtin:digits-logre")
    assert load_model("digits-logreg").name == "builtin:digits-logreg"  # embedded models answer to bare names
    with pytest.raises(UnknownNameError, match="did you mean 'digits-logreg'"):
        load_model("digits-logrg")


def test_adding_a_scheme_is_one_registry_entry():
    SCHEMES.register("echo-test", f"{__name__}:_echo_factory")
    try:
        m = load_model("echo-test:anything")
        assert m.name == "echo-test:anything"
    finally:
        SCHEMES._entries.pop("echo-test")
    assert any(row[0] == "builtin:digits-logreg" for row in describe_models())


class _Echo(ModelAdapter):
    def __init__(self, name):
        self.name = name

    def fingerprint(self):
        return "echo"

    def predict(self, batch):
        return list(batch)


def _echo_factory(rest):
    return _Echo(f"echo-test:{rest}")


def test_for_task_rejects_other_task_types(digits_model):
    with pytest.raises(InputError, match="expected a task of type image-classification, got 'asr'"):
        digits_model.for_task("asr")
    assert digits_model.for_task("image-classification") is digits_model


def test_coerce_prediction_by_task_type():
    assert coerce_prediction("image-classification", np.array([0.2, 0.8])) == ClassScores((0.2, 0.8))
    assert coerce_prediction("asr", "hello") == Transcript("hello")
    det = coerce_prediction("object-detection", {"boxes": [[0, 0, 1, 2]], "scores": [0.9], "labels": [3]})
    assert det == Detections(((0.0, 0.0, 1.0, 2.0),), (0.9,), (3,))
    seg = coerce_prediction("semantic-segmentation", np.zeros((2, 3), dtype=np.uint8))
    assert isinstance(seg, SegMask) and seg.mask.shape == (2, 3)
    assert coerce_prediction("diarization", [(0, 1.5, "A")]) == SpeakerTurns(((0.0, 1.5, "A"),))
    assert coerce_prediction("spectrogram-mcq", " B ") == Choice("B", " B ")
    for task, bad in [("image-classification", 3), ("image-classification", "cat"),
                      ("image-classification", np.zeros((2, 2))), ("asr", 1.0),
                      ("semantic-segmentation", np.zeros((2, 2))), ("diarization", [1, 2]),
                      ("object-detection", [1]), ("spectrogram-mcq", 2)]:
        with pytest.raises(PredictionTypeError):
            coerce_prediction(task, bad)


def test_as_list():
    assert as_list(np.zeros((3, 2)))[0].shape == (2,)
    assert as_list(x for x in range(2)) == [0, 1]
    assert as_list("abc") is None and as_list(5) is None
