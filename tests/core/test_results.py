from __future__ import annotations

import json
import math

from gapbench.core.results import CompareResult, MetricValue, ScoreResult
from gapbench.errors import InputError


def test_nan_becomes_null_and_json_is_strict() -> None:
    r = ScoreResult(
        "demo",
        {"a": MetricValue(0.5, (0.4, 0.6)), "b": MetricValue(math.nan), "c": MetricValue(1.0, (math.nan, 1.0))},
        groups={"per_class": {"cat": MetricValue(0.25)}},
        notes=["n"],
    )
    data = r.to_json()
    json.dumps(data, allow_nan=False)
    assert data["metrics"]["a"] == {"value": 0.5, "ci95": [0.4, 0.6]}
    assert data["metrics"]["b"] == {"value": None, "ci95": None}
    assert data["metrics"]["c"]["ci95"] is None
    assert data["per_class"]["cat"]["value"] == 0.25 and data["notes"] == ["n"]


def test_compare_json() -> None:
    c = CompareResult("wer", "wer", MetricValue(0.2), MetricValue(0.1), MetricValue(0.1, (0.05, 0.15)), 0.01, 30)
    assert json.loads(json.dumps(c.to_json()))["diff"]["ci95"] == [0.05, 0.15]


def test_input_error_is_one_line() -> None:
    e = InputError("a.jsonl", 3, "an object with 'ref' and 'hyp'", got="x" * 200)
    assert str(e).startswith("a.jsonl: line 3: expected an object with 'ref' and 'hyp', got 'xxx")
    assert "\n" not in str(e) and len(str(e)) < 200
    assert str(InputError("gt.json", "image id 7", "an integer")) == "gt.json: image id 7: expected an integer"
