"""Each sample's share of a run's metric states, kept in its record, so two runs can be compared
pairwise later (:mod:`gapbench.scoring.compare_runs`) from what the store or the JSON files hold.

A metric's ``state_dict`` (:mod:`gapbench.core.metric`) is a header (class, settings) plus one
entry per unit: a component row (every :class:`~gapbench.core.metric.ComponentMetric` family) or
one image's ground truth and detections (COCO). The runner stores the header once per cell in the
run document (``metric_states[cell]``: one header per metric of the task) and the unit's entries in
the sample's record (``metric_state``: ``{"cell": i, "rows": [one entry per metric]}``). Rebuilding
puts them back together and loads the state through the metric's own ``from_state_dict``, so the
rebuilt metric scores exactly what the run scored. A COCO state nested in a component family's
(OCR's text-line detection) rides along: that family's entry is then ``{"row": [...], "<key>":
[image, annotations, detections]}`` and the header lists the keys under ``nested`` (records written
before carry the bare row, and rebuild the nested state empty).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gapbench.core.metric import ComponentMetric
from gapbench.core.run_document import SampleRecord

STATE_KEY = "metric_state"  # in a record's values
HEADERS_KEY = "metric_states"  # in the run document
_ROWS = ("ids", "shape", "table")


def _empty(value: Any) -> Any:
    """A nested sub-metric state without its units (the header of the header)."""
    if not isinstance(value, Mapping) or "metric" not in value:
        return value
    out = dict(value)
    if "table" in out:
        out.update(ids=[], table=[], shape=[0, *list(out.get("shape", [0, 0]))[1:]])
    if "images" in out:
        out["images"] = []
    return out


def split_state(metric: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``(header, {unit id: entry})`` of a metric state; ``(None, {})`` for a metric without units."""
    state_dict = getattr(metric, "state_dict", None)
    if state_dict is None:
        return None, {}
    state = state_dict()
    if isinstance(metric, ComponentMetric):
        header = {k: _empty(v) for k, v in state.items() if k not in _ROWS}
        header["layout"] = "rows"
        n, width = (list(state["shape"]) + [0, 0])[:2]
        flat = state["table"]  # already a list: slice it rather than convert the table twice
        rows = {u: flat[i * width:(i + 1) * width] for i, u in enumerate(metric.unit_ids()[:n])}
        nested = {k: {str(i): [img, anns, dets] for i, img, anns, dets in v["images"]}
                  for k, v in state.items() if isinstance(v, Mapping) and isinstance(v.get("images"), list)}
        if not nested:
            return header, rows
        header["nested"] = sorted(nested)
        return header, {u: {"row": r, **{k: per_image.get(u) for k, per_image in nested.items()}}
                        for u, r in rows.items()}
    if isinstance(state.get("images"), list):  # COCO: [id, image, annotations, detections] per image
        header = {k: _empty(v) for k, v in state.items() if k != "images"}
        header["layout"] = "images"
        return header, {str(i): [img, anns, dets] for i, img, anns, dets in state["images"]}
    return None, {}


def attach_states(records: Sequence[SampleRecord], states: Sequence[Any], cell: int) -> list[dict[str, Any] | None]:
    """Put every sample's entries of ``states`` into its record; the headers, one per metric."""
    headers, per_unit = [], []
    for m in states:
        header, rows = split_state(m)
        headers.append(header)
        per_unit.append(rows)
    if any(h is not None for h in headers):
        for rec in records:
            rec.values[STATE_KEY] = {"cell": cell, "rows": [rows.get(rec.sample_id) for rows in per_unit]}
    return headers


def rebuild(header: Mapping[str, Any], ids: Sequence[str], entries: Sequence[Any]) -> Any:
    """The metric of ``header`` holding the units ``ids`` with their ``entries`` (from records)."""
    state = {k: v for k, v in header.items() if k != "layout"}
    if header.get("layout") == "images":
        state["images"] = [[i, *e] for i, e in zip(ids, entries)]
    else:
        nested = [k for k in header.get("nested", []) if isinstance(state.get(k), Mapping)]
        state.pop("nested", None)
        if entries and isinstance(entries[0], Mapping):  # a row with its nested states' entries
            for k in nested:
                state[k] = {**state[k], "images": [[i, *e[k]] for i, e in zip(ids, entries) if e.get(k)]}
            entries = [e["row"] for e in entries]
        width = len(entries[0]) if len(entries) else 0
        state.update(ids=list(ids), shape=[len(entries), width], table=[x for e in entries for x in e])
    return ComponentMetric.from_state_dict(state)
