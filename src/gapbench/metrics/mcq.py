"""Multiple-choice accuracy and the mean phonemic edit distance (PED) of the chosen option.

The spectrogram-reading benchmark's metrics (Loakman, Lin & James 2025, arXiv 2511.13225, §4):

* ``accuracy`` = correct answers / items; an unparseable answer counts as wrong.
* ``mean_ped`` = mean, over the items with a parseable answer, of the PED between the chosen
  option and the spoken word (the correct option has PED 0; see :mod:`gapbench.spectro.phonemes`
  for the PED definition used to build the references). Lower means the wrong answers were at
  least phonetically close. Undefined (NaN, with a note) when no answer parsed.
* ``unparseable`` = share of answers the extraction step could not map to an option.

A reference is ``{"answer": "B", "peds": [p_A, p_B, p_C, p_D], "labels": "ABCD"}`` (``labels``
optional, default ``ABCD``); a prediction is a :class:`~gapbench.core.predictions.Choice` or a
label string (``""`` = unparseable). Per-item row: ``(correct, answered, ped if answered, 1)``.
Intervals: Wilson's score interval for accuracy and unparseable (proportions over items);
the component base's bootstrap over items for mean_ped.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gapbench.core.metric import FRACTION_DOWN, FRACTION_UP, ComponentMetric, MetricInfo, check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError

PED_INFO = MetricInfo(False, "phones")


def _label(pred: Any, index: int) -> str:
    if isinstance(pred, str):
        return pred.strip().upper()
    label = getattr(pred, "label", None)  # gapbench.core.predictions.Choice
    if isinstance(label, str):
        return label.strip().upper()
    raise InputError(None, f"prediction {index}", "a Choice or an option label", pred)


class ChoiceMetric(ComponentMetric):
    """Accuracy, mean PED of the selection, unparseable share; mergeable per-item rows."""

    unit = "item"
    name = "mcq"
    declared = {"accuracy": FRACTION_UP, "mean_ped": PED_INFO, "unparseable": FRACTION_DOWN}

    def config(self) -> dict[str, Any]:
        return {}

    def update(self, predictions: Sequence[Any], references: Sequence[Any], ids: Sequence[Any] | None = None
               ) -> None:
        preds, refs, id_list = check_batch(predictions, references, ids)
        offset = len(self.ids)
        rows = []
        for k, (p, r) in enumerate(zip(preds, refs)):
            if not isinstance(r, Mapping) or "answer" not in r or "peds" not in r:
                raise InputError(None, f"reference {offset + k}", "{'answer': label, 'peds': [...]}", r)
            labels = str(r.get("labels") or "ABCDEFGH"[: len(r["peds"])]).upper()
            label = _label(p, offset + k)
            if label and label in labels and labels.index(label) < len(r["peds"]):
                rows.append((float(label == str(r["answer"]).upper()), 1.0, float(r["peds"][labels.index(label)]), 1.0))
            else:
                rows.append((0.0, 0.0, 0.0, 1.0))
        self.add_units(np.asarray(rows, dtype=np.float64).reshape(-1, 4), id_list)

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        correct, answered, ped_sum, n = (totals[:, k] for k in range(4))
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"accuracy": correct / n, "mean_ped": np.where(answered > 0, ped_sum / answered, np.nan),
                    "unparseable": (n - answered) / n}

    def interval_names(self, names: Sequence[str]) -> list[str]:
        t = self.table()
        keep = ["accuracy", "unparseable"]
        return keep + (["mean_ped"] if t[:, 1].sum() > 0 else [])

    def closed_form_interval(self, name: str, value: float, rows: np.ndarray) -> tuple[float, float] | None:
        """Wilson's score interval for the two proportions (exact-enough at any n, even 0 or 1)."""
        from gapbench.metrics.intervals import wilson_interval

        if name == "accuracy":
            return wilson_interval(float(rows[:, 0].sum()), float(len(rows)))
        if name == "unparseable":
            return wilson_interval(float(len(rows) - rows[:, 1].sum()), float(len(rows)))
        return None

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        return [{"sample_id": uid, "correct": bool(c), "answered": bool(a), "ped": float(p) if a else None}
                for uid, (c, a, p, _) in zip(self.unit_ids(), rows.tolist())]

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        n_un = int(len(rows) - rows[:, 1].sum())
        result.info.update({"unparseable_items": n_un})
        if rows[:, 1].sum() == 0:
            result.notes.append("no answer could be parsed: mean_ped is undefined")
        elif n_un:
            result.notes.append(f"{n_un} unparseable answer(s) counted wrong and left out of mean_ped")
