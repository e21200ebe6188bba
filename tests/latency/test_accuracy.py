"""Accuracy in the same latency run: the scenario's predictions scored by the task's metrics, equal to
what `gapbench run` scores for the same model and samples."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.latency.run import run_latency
from gapbench.latency.scenarios import ScenarioSettings
from gapbench.runner.local import run_task


def _values(metrics):
    return {k: v.to_json()["value"] if hasattr(v, "to_json") else v["value"] for k, v in metrics.items()}


@pytest.mark.parametrize("scenario,kw", [
    ("single-stream", {}),
    ("multi-stream", {"samples_per_query": 4}),
    ("offline", {"batch_sizes": (1, 8)}),
])
def test_latency_accuracy_equals_the_runner_on_the_same_samples(scenario, kw):
    n = 40
    s = ScenarioSettings(scenario, min_queries=n, min_duration_s=0, warmup_queries=2, early_stopping=False, **kw)
    doc, _ = run_latency("digits", None, s, limit=n, show_progress=False)
    ref = run_task("digits", None, limit=n, cache=None, use_cache=False, show_progress=False)
    assert len(doc.results) == 1 and doc.results[0].n == n
    got, want = _values(doc.results[0].metrics), _values(ref.clean.metrics)
    assert set(got) == set(want) and got == pytest.approx(want)
    assert doc.metric_info == ref.document.metric_info
    assert doc.latency["end_to_end"]["count"] > 0  # beside the latency figures


def test_wrong_predictions_lower_the_accuracy_and_repeats_count_once():
    """A model right on exactly the samples whose label is even: top-1 = share of even labels."""
    from gapbench.core.task import get_task
    from gapbench.latency.accuracy import score_queries
    from gapbench.latency.scenarios import SystemUnderTest, load_pool, run_scenario
    from gapbench.models.python_callable import PythonCallableModel

    task = get_task("digits")
    pool, _ = load_pool(task.open_samples(30)[0])
    label = {id(s.input): s.reference for s in pool}

    def model(batch):
        out = []
        for x in batch:
            y = int(label[id(x)]) if id(x) in label else 0
            guess = y if y % 2 == 0 else (y + 1) % 10
            out.append([1.0 if c == guess else 0.0 for c in range(10)])
        return out

    sut = SystemUnderTest(PythonCallableModel(model, name="python:half"), "image-classification", num_classes=10)
    # 75 queries over a pool of 30: each sample served 2-3 times, scored once
    run = run_scenario(sut, pool, ScenarioSettings("single-stream", min_queries=75, min_duration_s=0,
                                                   warmup_queries=0))
    acc = score_queries(task, run.load.records)
    expected = np.mean([int(s.reference) % 2 == 0 for s in pool])
    top1 = [v for k, v in acc.entry.metrics.items() if "1" in k][0]
    assert acc.entry.n == 30 and len(acc.records) == 30
    assert top1.value == pytest.approx(expected)
