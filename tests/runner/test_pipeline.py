"""The per-batch step: what is cached (responses before answer extraction, with their timings),
what is not (invalid or sampled outputs), what keys the cache, and how a failing model is reported."""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gapbench.core.metric import Metric
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.core.task import Target, TaskSpec
from gapbench.errors import ModelError
from gapbench.models.base import ModelAdapter
from gapbench.runner.cache import ResponseCache
from gapbench.runner.local import run_task
from gapbench.runner.pipeline import Pipeline

RULES = textwrap.dedent('''
    import re
    from gapbench.core.predictions import Choice
    from gapbench.core.sample import Sample

    def items():
        return [Sample(f"q{i}", f"question {i}", "ABCD"[i % 4]) for i in range(8)]

    def strict():
        """Only a bare letter counts."""
        return lambda text: Choice(text.strip() if text.strip() in "ABCD" and text.strip() else "", text)

    def lenient():
        """The first standalone letter A-D anywhere."""
        def pick(text):
            m = re.search(r"\\b([A-D])\\b", text)
            return Choice(m.group(1) if m else "", text)
        return pick
''')


class Accuracy(Metric):
    name = "acc"

    def __init__(self) -> None:
        self.hits: list[int] = []

    def update(self, predictions, references, ids=None):
        self.hits += [int(p.label == r) for p, r in zip(predictions, references)]

    def merge(self, other):
        self.hits += other.hits
        return self

    def compute(self, *, bootstrap=1000, seed=0, ci=True):
        return ScoreResult("acc", {"acc": MetricValue(float(np.mean(self.hits)))})


class Chatty(ModelAdapter):
    """Answers 'The answer is X.' (right for even items), or garbage; counts its calls."""

    name = "test:chatty"
    task_types = ("spectrogram-mcq",)

    def __init__(self, temperature: float = 0.0, prompt: str = "v1") -> None:
        self.calls = 0
        self.deterministic = temperature == 0.0
        self.temperature, self.prompt = temperature, prompt

    def fingerprint(self) -> str:
        return "chatty-1"

    def settings(self) -> dict:
        return {"temperature": self.temperature, "prompt": self.prompt}

    def predict(self, batch):
        self.calls += len(batch)
        out = []
        for q in batch:
            i = int(q.split()[-1])
            out.append(f"The answer is {'ABCD'[i % 4]}." if i % 2 == 0 else "I cannot tell.")
        return out


def _task(tmp_path: Path, rule: str) -> TaskSpec:
    (tmp_path / "rules.py").write_text(RULES)
    return TaskSpec(name=f"mcq-{rule}", type="spectrogram-mcq",
                    dataset=Target("rules.py:items", base_dir=str(tmp_path)),
                    metrics=(Target("gapbench.metrics.wer:WERMetric"),),  # replaced by Accuracy below
                    extract=Target(f"rules.py:{rule}", base_dir=str(tmp_path)))


def test_a_new_extraction_rule_rescores_from_cached_text(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    model = Chatty()
    strict = run_task(_task(tmp_path, "strict"), model, metric=Accuracy(), cache=cache)
    assert model.calls == 8 and strict.metrics["acc"].value == 0.0  # "The answer is A." is not a bare letter
    lenient = run_task(_task(tmp_path, "lenient"), model, metric=Accuracy(), cache=cache)
    assert model.calls == 8  # the raw text came from the cache, unparseable answers included
    assert lenient.metrics["acc"].value == 0.5 and lenient.clean.n_cached == 8
    with ResponseCache(cache) as rc:
        assert rc.count() == 8


def test_generation_settings_key_the_cache_and_sampled_outputs_are_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run_task(_task(tmp_path, "lenient"), Chatty(prompt="v1"), metric=Accuracy(), cache=cache)
    other = Chatty(prompt="v2")
    run_task(_task(tmp_path, "lenient"), other, metric=Accuracy(), cache=cache)
    assert other.calls == 8  # another prompt template is another answer
    sampled = Chatty(temperature=0.7)
    run_task(_task(tmp_path, "lenient"), sampled, metric=Accuracy(), cache=cache)
    run_task(_task(tmp_path, "lenient"), sampled, metric=Accuracy(), cache=cache)
    assert sampled.calls == 16  # never served from the cache
    run_task(_task(tmp_path, "lenient"), sampled, metric=Accuracy(), cache=cache, cache_sampled=True)
    run_task(_task(tmp_path, "lenient"), sampled, metric=Accuracy(), cache=cache, cache_sampled=True)
    assert sampled.calls == 24  # unless asked


def _digits_task() -> TaskSpec:
    return TaskSpec(name="digits-pipe", type="image-classification",
                    dataset=Target("gapbench.data.embedded:sklearn_digits", {"split": "test"}),
                    metrics=(Target("gapbench.metrics.topk:TopKAccuracy", {"k": [1]}),), num_classes=10)


def test_invalid_outputs_are_never_cached(tmp_path: Path) -> None:
    calls = []

    def nan_model(batch):
        calls.append(len(batch))
        return [[math.nan] + [0.0] * 9 for _ in batch]

    for _ in range(2):
        with pytest.raises(ModelError, match=r"nan_model: sample digits-\d+: expected class scores without NaN"):
            run_task(_digits_task(), nan_model, limit=4, cache=tmp_path / "c")
    assert calls == [4, 4]  # the rerun asks the model again instead of failing from the cache
    with ResponseCache(tmp_path / "c") as rc:
        assert rc.count() == 0


def test_a_failing_model_is_one_line_naming_model_batch_and_sample() -> None:
    def broken(batch):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(ModelError) as ei:
        run_task(_digits_task(), broken, limit=8, batch_size=4, cache=False)
    msg = str(ei.value)
    assert "\n" not in msg and "broken failed on batch 0 (first sample digits-" in msg
    assert msg.endswith("ZeroDivisionError: division by zero")
    skipped = run_task(_digits_task(), broken, limit=8, batch_size=4, cache=False, on_error="skip")
    assert skipped.document.results[0].to_json()["n_skipped"] == 8


def test_process_inline_equals_prepare_then_finish() -> None:
    from gapbench.data.embedded import sklearn_digits
    from gapbench.models.registry import load_model

    model = load_model("builtin:digits-logreg")
    samples = sklearn_digits("test")[:10]
    a = Pipeline(model, "image-classification", num_classes=10).process(samples)
    b = Pipeline(model, "image-classification", num_classes=10)
    b_out = b.finish(b.prepare(samples))
    assert a.predictions == b_out.predictions and a.cached == [False] * 10
    assert set(a.timing.per_sample()) == {"decode", "shift", "preprocess", "inference", "postprocess", "transport"}
    assert [s.id for s in a.samples] == [s.id for s in samples]
