"""Counts saved as integers come back as integers (``1575``, never ``1575.0``) from every read."""
from __future__ import annotations

import json


def _doc() -> dict:
    return {
        "task": "score:wer",
        "model": "wer",
        "results": [{"shift": "none", "severity": None, "metrics": {
            "wer": {"value": 0.5, "ci95": [0.4, 0.6]},
            "substitutions": {"value": 1575, "ci95": None},
            "hits": {"value": 0, "ci95": None},
            "ratio": {"value": 2.0, "ci95": None},  # a float that happens to be whole stays a float
            "top1": {"value": 1.0, "ci95": [0.9, 1.0]},
        }}],
    }


def test_integer_metrics_round_trip_as_integers(store) -> None:
    run_id = store.save_run(_doc())
    for metrics in (store.get_run(run_id)["results"][0]["metrics"], store.list_runs()[0]["metrics"]):
        assert type(metrics["substitutions"]["value"]) is int and metrics["substitutions"]["value"] == 1575
        assert type(metrics["hits"]["value"]) is int
        assert type(metrics["ratio"]["value"]) is float and type(metrics["top1"]["value"]) is float
        text = json.dumps(metrics)
        assert '"value": 1575,' in text and "1575.0" not in text
    assert "_int_metrics" not in store.get_run(run_id)["results"][0]
