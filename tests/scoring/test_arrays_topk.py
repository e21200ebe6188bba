"""scoring.arrays.score_topk against sklearn's top_k_accuracy_score: ties, inf, binary, errors."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from gapbench.errors import InputError
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
