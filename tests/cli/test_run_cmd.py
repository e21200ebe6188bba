"""``gapbench run`` / ``tasks`` / ``models``: JSON shape, files written, store write, --limit, errors."""
from __future__ import annotations

import json

from gapbench.cli import main


def _run_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["run", *args, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object
    return json.loads(out)


def test_run_digits_json_shape_and_store(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "x.db"
    doc = _run_json(capsys, "digits", "--store", f"sqlite:///{db}", "--limit", "64", "--bootstrap", "50")
    assert set(doc) == {"run_id", "kind", "task", "model", "dataset", "results", "latency", "metric_info", "spec",
                        "provenance", "metric_states"}
    assert doc["dataset"]["n_samples"] == 64 and doc["metric_info"]["top1"] == {"higher_is_better": True,
                                                                                "unit": "fraction"}
    assert doc["task"] == "digits" and doc["model"] == "builtin:digits-logreg"
    (res,) = doc["results"]
    assert res["shift"] == "none" and res["severity"] is None and res["n"] == 64
    assert set(res["metrics"]) == {"top1", "top5"}
    top1 = res["metrics"]["top1"]
    assert 0.8 < top1["value"] <= 1.0
    lo, hi = top1["ci95"]
    assert lo <= top1["value"] <= hi
    lat = doc["latency"]
    assert lat["percentile_method"] == "linear" and lat["warmup_samples_dropped"] == 32
    assert lat["end_to_end"]["count"] == 32 and lat["throughput_samples_per_s"] > 0
    assert lat["fps"] == lat["throughput_samples_per_s"]  # digits are images
    prov = doc["provenance"]
    assert prov["seed"] == 0 and prov["model_fingerprint"]
    # the JSON file under the default out dir, and the cache beside it
    saved = tmp_path / "gapbench-out" / f"{doc['run_id']}.json"
    assert json.loads(saved.read_text()) == doc
    assert (tmp_path / "gapbench-out" / "cache" / "responses.sqlite").is_file()
    # the store holds the run and one record per sample
    from gapbench.store import open_store

    with open_store(f"sqlite:///{db}") as st:
        run = st.get_run(doc["run_id"])
        assert run["task"] == "digits" and run["model"] == "builtin:digits-logreg"
        records = st.get_records(doc["run_id"])
    assert len(records) == 64
    from gapbench.data.embedded import sklearn_digits

    assert sorted(r["sample_id"] for r in records) == sorted(s.id for s in sklearn_digits("test")[:64])
    assert all(r["shift"] == "none" for r in records)


def test_rerun_uses_cache_and_limit(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["digits", "--store", f"sqlite:///{tmp_path / 's.db'}", "--out", str(out), "--no-ci"]
    first = _run_json(capsys, *args, "--limit", "10")
    assert first["results"][0]["n"] == 10 and first["results"][0]["n_cached"] == 0
    assert first["results"][0]["metrics"]["top1"]["ci95"] is None
    second = _run_json(capsys, *args, "--limit", "20")
    assert second["results"][0]["n"] == 20 and second["results"][0]["n_cached"] == 10
    assert second["run_id"] != first["run_id"]
    assert len(list(out.glob("*.json"))) == 2


def test_table_output(tmp_path, capsys):
    capsys.readouterr()
    code = main(["run", "digits", "--limit", "40", "--out", str(tmp_path),
                 "--store", f"sqlite:///{tmp_path / 's.db'}", "--bootstrap", "10"])
    assert code == 0
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    assert "top1" in out and "top5" in out and "[shift: none, 40 samples]" in out
    assert "end-to-end" in out and "p99" in out
    assert "warm-up" in err and "run id:" in err and "JSON written to" in err  # notes go to stderr


def test_python_model_bad_output_is_one_line(tmp_path, capsys):
    model = tmp_path / "bad_model.py"
    model.write_text("def f(batch):\n    return ['cat' for _ in batch]\n")
    capsys.readouterr()
    code = main(["run", "digits", "--model", f"python:{model}:f", "--limit", "5", "--out", str(tmp_path),
                 "--store", f"sqlite:///{tmp_path / 's.db'}"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"python:{model}:f: sample digits-" in err and "expected 10 class scores" in err


def test_unknown_task_and_model(tmp_path, capsys):
    capsys.readouterr()
    assert main(["run", "digts", "--out", str(tmp_path)]) == 2
    assert "did you mean 'digits'" in capsys.readouterr().err
    assert main(["run", "digits", "--model", "builtin:digit-logreg", "--out", str(tmp_path)]) == 2
    assert "did you mean 'digits-logreg'" in capsys.readouterr().err
    assert main(["run", "digits", "--shift", "fogg", "--out", str(tmp_path)]) == 2
    assert "unknown shift 'fogg'" in capsys.readouterr().err


def test_tasks_and_models_listing(capsys):
    capsys.readouterr()
    assert main(["tasks", "--format", "json"]) == 0
    tasks = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert tasks["digits"]["type"] == "image-classification"
    assert tasks["digits"]["default_model"] == "builtin:digits-logreg"
    assert main(["tasks"]) == 0
    assert "digits" in capsys.readouterr().out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "builtin:digits-logreg" in out and "python:" in out
