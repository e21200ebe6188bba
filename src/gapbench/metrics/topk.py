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

from gapbench.core.arrays import class_labels, class_scores
from gapbench.core.metric import FRACTION_UP, ComponentMetric, check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError
from gapbench.metrics import intervals


def _parse_k(k: int | Iterable[int]) -> tuple[int, ...]:
    ks = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    if not ks:
        raise InputError(None, "k", "at least one value")
    out = []
    for x in ks:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or int(x) < 1:
            raise InputError(None, "k", "positive integers such as 1,5", x)
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


class TopKAccuracy(ComponentMetric):
    """Mergeable top-k state: per sample the label and its rank (multiclass) or the
    positive-class score (binary; sklearn's threshold depends on all scores)."""

    name = "topk"

    def __init__(self, k: int | Iterable[int] = (1, 5)) -> None:
        super().__init__()
        self.k = _parse_k(k)
        self.declared = {f"top{k}": FRACTION_UP for k in self.k}
        self.num_classes: int | None = None  # 2 in the binary mode
        self.binary: bool | None = None

    def config(self) -> dict[str, Any]:
        return {"k": list(self.k)}

    def _mode(self, width: int, file: str | None) -> None:
        binary = width == 1
        c = 2 if binary else width
        if self.binary is None:
            self.binary, self.num_classes = binary, c
        elif (self.binary, self.num_classes) != (binary, c):
            raise InputError(file, None, f"{self.num_classes if not self.binary else 1} score(s) per sample, "
                             "as before", width)

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
        if ids is not None and len(ids) != len(labels):
            raise InputError(None, None, f"one id per sample ({len(labels)})", len(ids))
        value = scores if self.binary else label_ranks(scores, labels)
        self.add_units(np.column_stack([labels.astype(np.float64), value.astype(np.float64)]), ids)

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        preds, refs, id_list = check_batch(predictions, references, ids)
        if not preds:
            return
        rows = [_scores_of(p) for p in preds]
        width = len(rows[0])
        bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
        if bad is not None:
            raise InputError(None, f"sample {id_list[bad] if id_list else bad}",
                             f"{width} scores like the first sample", len(rows[bad]))
        self.add_arrays(np.stack(rows), np.asarray(refs), id_list)

    def merge(self, other: TopKAccuracy) -> TopKAccuracy:
        if other.binary is not None:
            self._mode(1 if other.binary else int(other.num_classes or 0), None)
        return super().merge(other)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "binary": self.binary, "num_classes": self.num_classes}

    def load_state_dict(self, state: Any) -> TopKAccuracy:
        super().load_state_dict(state)
        self.binary, self.num_classes = state.get("binary"), state.get("num_classes")
        return self

    def hits(self) -> dict[int, np.ndarray]:
        """Boolean hit vector per k, in sample order."""
        rows = self.unit_rows(self.table()) if len(self.ids) else np.zeros((0, len(self.k) + 1))
        return {k: rows[:, j].astype(bool) for j, k in enumerate(self.k)}

    def unit_rows(self, table: np.ndarray) -> np.ndarray:
        labels, vals = table[:, 0].astype(np.int64), table[:, 1]
        n = len(table)
        if self.binary:
            threshold = 0.5 if vals.min() >= 0 and vals.max() <= 1 else 0.0
            correct = (vals > threshold).astype(np.int64) == labels
            cols = [correct if k == 1 else np.ones(n, dtype=bool) for k in self.k]
        else:
            cols = [vals < k for k in self.k]
        return np.column_stack([*cols, np.ones(n, dtype=bool)]).astype(np.int64)

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        n = totals[:, -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return {f"top{k}": np.where(n > 0, totals[:, j] / np.where(n > 0, n, 1), np.nan)
                    for j, k in enumerate(self.k)}

    def closed_form_interval(self, name: str, value: float, rows: np.ndarray) -> tuple[float, float] | None:
        j = self.k.index(int(name[3:]))
        return intervals.wilson_interval(float(rows[:, j].sum()), float(len(rows)))

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        table = self.table()
        out = []
        for i, sample_id in enumerate(self.unit_ids()):
            rec: dict[str, Any] = {"sample_id": sample_id, "label": int(table[i, 0])}
            if self.binary:
                rec["score"] = float(table[i, 1])  # the rank needs sklearn's dataset-level threshold
            else:
                rec["rank"] = int(table[i, 1]) + 1  # 1 = the true label is ranked first
            for j, k in enumerate(self.k):
                rec[f"hit@{k}"] = bool(rows[i, j])
            out.append(rec)
        return out

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        c = self.num_classes
        big = [k for k in self.k if c is not None and k >= c]
        if big:
            result.notes.append(f"k={','.join(map(str, big))} >= number of classes ({c}): every sample is a "
                                "hit (sklearn warns the same)")
        result.info.update({"num_classes": c, "binary": bool(self.binary), "k": list(self.k)})
        # per-class table: top-k (first k asked) among the samples of each true class (= that class's
        # recall at k; sklearn's top_k_accuracy_score on the class's samples), Wilson interval each
        from gapbench.core.results import MetricValue

        labels = self.table()[:, 0].astype(np.int64)
        per_class = {}
        for cls in np.unique(labels).tolist():
            hit = rows[labels == cls, 0]
            ci = intervals.wilson_interval(float(hit.sum()), float(len(hit))) if result.metrics and any(
                mv.ci95 for mv in result.metrics.values()) else None
            per_class[str(cls)] = MetricValue(float(hit.mean()), ci)
        result.groups["per_class"] = per_class
        result.info["per_class"] = f"top{self.k[0]} among each true class's samples"
        if any(mv.ci95 for mv in result.metrics.values()):
            result.info["ci"] = "wilson"
