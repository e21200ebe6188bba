"""Top-k accuracy against ``sklearn.metrics.top_k_accuracy_score`` (ties, binary, k >= C)."""

from __future__ import annotations

import warnings
from pathlib import Path

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


@pytest.mark.parametrize("seed", range(5))
def test_random_and_heavy_ties_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for ties in (False, True):
        n, c = int(rng.integers(1, 200)), int(rng.integers(3, 12))
        scores = rng.integers(0, 3, size=(n, c)).astype(float) if ties else rng.normal(size=(n, c))
        labels = rng.integers(0, c, size=n)
        ks = [1, 2, 5, c - 1, c, c + 3]
        result = score_topk(scores, labels, k=ks)
        for k in dict.fromkeys(ks):
            assert result.metrics[f"top{k}"].value == sk(labels, scores, k, c)


def test_tie_rule_higher_index_wins() -> None:
    scores = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.5]])
    labels = np.array([1, 0, 0])
    result = score_topk(scores, labels, k=[1, 2])
    assert [r["rank"] for r in result.records] == [1, 2, 3]
    assert result.metrics["top1"].value == sk(labels, scores, 1, 3) == 1 / 3
    assert result.metrics["top2"].value == sk(labels, scores, 2, 3) == 2 / 3


def test_inf_scores_rank_as_expected() -> None:
    scores = np.array([[-np.inf, 0.0, np.inf], [-np.inf, -np.inf, 1.0]])
    result = score_topk(scores, np.array([2, 0]), k=[1, 2])
    assert [r["rank"] for r in result.records] == [1, 3]  # -inf tie: the higher index (1) ranks first


@pytest.mark.parametrize("probabilities", [True, False])
def test_binary_matches_sklearn(probabilities: bool) -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(101) if probabilities else rng.normal(size=101)
    scores[::7] = 0.5 if probabilities else 0.0  # on the threshold: predicted negative
    labels = rng.integers(0, 2, size=101)
    result = score_topk(scores, labels, k=[1, 2])
    assert result.metrics["top1"].value == sk(labels, scores, 1, 2)
    assert result.metrics["top2"].value == sk(labels, scores, 2, 2) == 1.0
    assert result.info["binary"] is True
    column = score_topk(scores[:, None], labels, k=[1])
    assert column.metrics["top1"].value == result.metrics["top1"].value


def test_two_columns_take_the_multiclass_rule() -> None:
    # sklearn rejects (N, 2) scores with labels=[0, 1]; a third -inf column makes it multiclass
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 2, size=(50, 2)).astype(float)
    labels = rng.integers(0, 2, size=50)
    padded = np.column_stack([scores, np.full(50, -np.inf)])
    from sklearn.metrics import top_k_accuracy_score

    expected = top_k_accuracy_score(labels, np.nan_to_num(padded, neginf=-1e300), k=1, labels=[0, 1, 2])
    assert score_topk(scores, labels, k=[1]).metrics["top1"].value == expected


def test_k_at_least_classes_gives_one_with_a_note() -> None:
    result = score_topk(np.eye(3), np.array([2, 1, 0]), k=[1, 5])
    assert result.metrics["top5"].value == 1.0 == sk([2, 1, 0], np.eye(3), 5, 3)
    assert any("k=5 >= number of classes (3)" in n for n in result.notes)


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


def test_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "logits.npy", np.array([[0.1, np.nan], [0.3, 0.2]]))
    np.save(tmp_path / "labels.npy", np.array([0, 1]))
    with pytest.raises(InputError, match=r"logits\.npy: sample 0: expected finite scores \(no NaN\)"):
        score_topk(tmp_path / "logits.npy", tmp_path / "labels.npy")
    np.save(tmp_path / "ok.npy", np.zeros((2, 2)))
    np.save(tmp_path / "big.npy", np.array([0, 2]))
    with pytest.raises(InputError, match=r"big\.npy: sample 1: expected a label in \[0, 2\), got 2"):
        score_topk(tmp_path / "ok.npy", tmp_path / "big.npy")
    np.save(tmp_path / "flabels.npy", np.array([0.0, 1.0]))
    with pytest.raises(InputError, match=r"flabels\.npy: expected integer class labels"):
        score_topk(tmp_path / "ok.npy", tmp_path / "flabels.npy")
    np.save(tmp_path / "three.npy", np.array([0, 1, 1]))
    with pytest.raises(InputError, match=r"three\.npy: expected one label per score row \(2\)"):
        score_topk(tmp_path / "ok.npy", tmp_path / "three.npy")
    with pytest.raises(InputError, match="positive integers"):
        score_topk(np.zeros((2, 2)), np.array([0, 1]), k=[0])


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
