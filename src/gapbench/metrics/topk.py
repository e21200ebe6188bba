"""Top-k accuracy, identical to scikit-learn's ``top_k_accuracy_score`` (labels ``0..C-1``).

* Multiclass (scores ``(N, C)``, ``C >= 2``): sklearn ranks classes with
  ``argsort(scores, kind="mergesort")[:, ::-1]``, so among equal scores the *higher* class index
  ranks first. The 0-based rank of the true label ``y`` is therefore
  ``#{j: s_j > s_y} + #{j > y: s_j == s_y}`` and the sample is a hit at ``k`` when ``rank < k``.
  This is computed without sorting (and the rank is kept per sample, so the state merges).
* Binary (scores ``(N,)`` or ``(N, 1)``: the positive-class score, labels in ``{0, 1}``): for
  ``k = 1`` the prediction is ``score > 0.5`` when *all* scores lie in ``[0, 1]`` and ``score > 0``
  otherwise (sklearn's dataset-level threshold rule); for ``k >= 2`` every sample is a hit.
  sklearn rejects ``(N, 2)`` scores with two labels; here they take the multiclass rule above.
* ``k >= C`` gives 1.0; sklearn warns, we add a note.
* NaN scores are an error (sklearn rejects them too); ``+-inf`` is accepted (sklearn rejects it)
  and ranks as expected.

The 95% interval is Wilson's score interval for each accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gapbench.core.metric import Metric
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.data.arrays import ArrayLike, as_array, class_labels, class_scores
from gapbench.errors import InputError
from gapbench.metrics import stats


def _parse_k(k: int | Iterable[int]) -> tuple[int, ...]:
    ks = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    if not ks:
        raise ValueError("k: expected at least one value")
    out = []
    for x in ks:
        if isinstance(x, bool) or int(x) != x or int(x) < 1:
            raise ValueError(f"k: expected positive integers, got {x!r}")
        out.append(int(x))
    return tuple(dict.fromkeys(out))


def label_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0-based rank of each true label under sklearn's tie rule (higher index first)."""
    n, c = scores.shape
    s_true = scores[np.arange(n), labels][:, None]
    higher = np.count_nonzero(scores > s_true, axis=1)
    tied_after = np.count_nonzero((scores == s_true) & (np.arange(c)[None, :] > labels[:, None]), axis=1)
    return (higher + tied_after).astype(np.int64)


def _scores_of(pred: Any) -> np.ndarray:
    return np.asarray(getattr(pred, "scores", pred), dtype=np.float64).ravel()


class TopKAccuracy(Metric):
    """Mergeable top-k state: per sample the label and its rank (multiclass) or the
    positive-class score (binary; sklearn's threshold depends on all scores)."""

    name = "topk"

    def __init__(self, k: int | Iterable[int] = (1, 5)) -> None:
        self.k = _parse_k(k)
        self.num_classes: int | None = None  # 2 in the binary mode
        self.binary: bool | None = None
        self.ids: list[str] = []
        self.labels: list[np.ndarray] = []
        self.values: list[np.ndarray] = []  # ranks (int64) or binary scores (float64)

    def _mode(self, width: int, file: str | None) -> None:
        binary = width == 1
        c = 2 if binary else width
        if self.binary is None:
            self.binary, self.num_classes = binary, c
        elif (self.binary, self.num_classes) != (binary, c):
            raise InputError(
                file,
                None,
                f"{self.num_classes if not self.binary else 1} score(s) per sample, as before",
                width,
            )

    def add_arrays(
        self,
        scores: np.ndarray,
        labels: np.ndarray,
        ids: Sequence[str] | None = None,
        *,
        scores_file: str | None = None,
        labels_file: str | None = None,
    ) -> None:
        """Add a validated batch: ``scores`` ``(N, C)`` / ``(N,)``, integer ``labels`` ``(N,)``."""
        scores = class_scores(np.asarray(scores), scores_file)
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]
        width = 1 if scores.ndim == 1 else scores.shape[1]
        self._mode(width, scores_file)
        labels = class_labels(np.asarray(labels), labels_file, self.num_classes or 2)
        if len(labels) != len(scores):
            raise InputError(labels_file, None, f"one label per score row ({len(scores)})", len(labels))
        start = len(self.ids)
        ids = [str(start + i) for i in range(len(labels))] if ids is None else [str(i) for i in ids]
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} ids for {len(labels)} samples")
        self.values.append(scores.copy() if self.binary else label_ranks(scores, labels))
        self.labels.append(labels.copy())
        self.ids.extend(ids)

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        predictions, references = list(predictions), list(references)
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        if not predictions:
            return
        rows = [_scores_of(p) for p in predictions]
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            i = next(i for i, r in enumerate(rows) if len(r) != len(rows[0]))
            raise InputError(None, f"sample {i}", f"{len(rows[0])} scores like sample 0", len(rows[i]))
        self.add_arrays(np.stack(rows), np.asarray(references), None if ids is None else list(ids))

    def merge(self, other: TopKAccuracy) -> TopKAccuracy:
        if other.k != self.k:
            raise ValueError(f"cannot merge top-k states with k={self.k} and k={other.k}")
        if other.binary is not None:
            self._mode(1 if other.binary else int(other.num_classes or 0), None)
        self.ids.extend(other.ids)
        self.labels.extend(other.labels)
        self.values.extend(other.values)
        return self

    def hits(self) -> dict[int, np.ndarray]:
        """Boolean hit vector per k, in sample order."""
        n = len(self.ids)
        if n == 0:
            return {k: np.zeros(0, dtype=bool) for k in self.k}
        vals = np.concatenate(self.values)
        if self.binary:
            labels = np.concatenate(self.labels)
            threshold = 0.5 if vals.min() >= 0 and vals.max() <= 1 else 0.0
            correct = (vals > threshold).astype(np.int64) == labels
            return {k: correct if k == 1 else np.ones(n, dtype=bool) for k in self.k}
        return {k: vals < k for k in self.k}

    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        n = len(self.ids)
        hits = self.hits()
        metrics: dict[str, MetricValue] = {}
        for k, h in hits.items():
            count = int(h.sum())
            value = count / n if n else float("nan")
            metrics[f"top{k}"] = MetricValue(value, stats.wilson_interval(count, n) if ci else None)
        notes = []
        c = self.num_classes
        if c is not None:
            big = [k for k in self.k if k >= c]
            if big:
                notes.append(
                    f"k={','.join(map(str, big))} >= number of classes ({c}): every sample is a hit "
                    "(sklearn warns the same)"
                )
        if n == 0:
            notes.append("no samples")
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(self.values) if self.values else np.zeros(0)
        records = []
        for i, sample_id in enumerate(self.ids):
            rec: dict[str, Any] = {"id": sample_id, "label": int(labels[i])}
            if self.binary:
                rec["score"] = float(vals[i])  # the rank needs sklearn's dataset-level threshold
            else:
                rec["rank"] = int(vals[i]) + 1  # 1 = the true label is ranked first
            for k, h in hits.items():
                rec[f"hit@{k}"] = bool(h[i])
            records.append(rec)
        info: dict[str, Any] = {
            "samples": n,
            "num_classes": c,
            "binary": bool(self.binary),
            "k": list(self.k),
        }
        if ci:
            info["ci"] = "wilson"
        return ScoreResult("topk", metrics, {}, info, notes, records)


def score_topk(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    k: int | Iterable[int] = (1, 5),
    ids: Sequence[str] | None = None,
    bootstrap: int = stats.DEFAULT_RESAMPLES,
    seed: int = stats.DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Top-k accuracy of ``logits`` ``(N, C)`` (or binary ``(N,)``) against integer ``labels``
    ``(N,)``; ``.npy`` paths or arrays. Matches ``sklearn.metrics.top_k_accuracy_score``.
    ``bootstrap``/``seed`` are accepted for a uniform API; the interval is Wilson's."""
    try:
        metric = TopKAccuracy(k)
    except ValueError as exc:
        raise InputError("--k", None, "positive integers such as 1,5", str(exc)) from None
    s_arr, s_file = as_array(logits)
    l_arr, l_file = as_array(labels)
    metric.add_arrays(s_arr, l_arr, ids, scores_file=s_file, labels_file=l_file)
    result = metric.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    for name, f in (("logits", s_file), ("labels", l_file)):
        if f is not None:
            result.info[name] = f
    return result
