"""Top-k accuracy against ``sklearn.metrics.top_k_accuracy_score`` (ties, binary, k >= C)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapbench.core.predictions import ClassScores
from gapbench.errors import InputError
from gapbench.metrics import intervals
from gapbench.metrics.topk import TopKAccuracy
from gapbench.scoring.arrays import score_topk


def sk(labels, scores, k, n_classes):
    from sklearn.metrics import top_k_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k >= n_classes warns
        return top_k_accuracy_score(labels, scores, k=k, labels=np.arange(n_classes))


def test_wilson_interval_and_json() -> None:
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=(40, 10)), rng.integers(0, 10, size=40)
    result = score_topk(scores, labels)
    js = result.to_json()
    assert set(js["metrics"]) == {"top1", "top5"}
    hits = sum(r["hit@5"] for r in result.records)
    assert result.metrics["top5"].ci95 == intervals.wilson_interval(hits, 40)
    assert score_topk(scores, labels, ci=False).metrics["top1"].ci95 is None


def test_runner_interface_with_class_scores() -> None:
    metric = TopKAccuracy(k=[1, 5])
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(12, 7))
    labels = [int(x) for x in rng.integers(0, 7, size=12)]
    metric.update([ClassScores.of(s) for s in scores[:5]], labels[:5], ids=[f"s{i}" for i in range(5)])
    metric.update([list(s) for s in scores[5:]], labels[5:], ids=[f"s{i}" for i in range(5, 12)])
    result = metric.compute(bootstrap=1000, seed=0)
    assert result.metrics["top1"].value == sk(labels, scores, 1, 7)
    assert result.metrics["top5"].value == sk(labels, scores, 5, 7)
    rec = result.records[0]
    assert set(rec) == {"sample_id", "label", "rank", "hit@1", "hit@5"} and rec["sample_id"] == "s0"
    with pytest.raises(InputError, match="score"):
        metric.update([ClassScores.of([0.1, 0.2])], [0])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 30),
    c=st.integers(1, 6),
    cuts=st.lists(st.integers(0, 30), max_size=3),
)
def test_merge_of_shards_equals_one_shot(seed: int, n: int, c: int, cuts: list[int]) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(-2, 3, size=(n, c)).astype(float)  # c == 1: the binary case
    labels = rng.integers(0, max(c, 2), size=n)
    preds = [ClassScores.of(s) for s in scores]
    one = TopKAccuracy(k=[1, 2, 5])
    one.update(preds, list(labels))
    bounds = sorted({0, n, *(min(x, n) for x in cuts)})
    merged = TopKAccuracy(k=[1, 2, 5])
    for a, b in zip(bounds, bounds[1:]):
        shard = TopKAccuracy(k=[1, 2, 5])
        shard.update(preds[a:b], list(labels[a:b]), ids=[str(i) for i in range(a, b)])
        merged.merge(shard)
    assert one.compute().to_json(with_records=True) == merged.compute().to_json(with_records=True)
    if c != 2:  # sklearn rejects (N, 2) scores with labels [0, 1]
        width = scores if c > 1 else scores[:, 0]
        assert one.compute().metrics["top1"].value == sk(labels, width, 1, max(c, 2))


def test_per_class_table_equals_sklearn_on_each_class():
    from sklearn.metrics import top_k_accuracy_score

    from gapbench.metrics.topk import TopKAccuracy

    rng = np.random.default_rng(4)
    scores = rng.normal(size=(200, 5))
    scores[:, 2] = scores[:, 0]  # ties between classes 0 and 2
    labels = rng.integers(0, 5, 200)
    m = TopKAccuracy(k=(1, 3))
    m.update(list(scores), list(labels), [str(i) for i in range(200)])
    res = m.compute(ci=True)
    table = res.groups["per_class"]
    assert res.info["per_class"].startswith("top1")
    assert sorted(table) == ["0", "1", "2", "3", "4"]
    for c in range(5):
        sel = labels == c
        want = top_k_accuracy_score(labels[sel], scores[sel], k=1, labels=range(5))
        assert table[str(c)].value == pytest.approx(want, abs=1e-15)
        lo, hi = table[str(c)].ci95
        assert lo <= want <= hi
