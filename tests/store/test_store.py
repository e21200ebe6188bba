"""The results store on SQLite and PostgreSQL: round trips, NaN, records, listing, atomicity, URLs."""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gapbench.core.run_document import RunDocument
from gapbench.errors import InputError
from gapbench.store import (
    RunNotFoundError,
    StoreError,
    default_url,
    normalise_url,
    open_store,
    resolve_url,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _run(task: str = "asr", model: str = "whisper-tiny", **kw: object) -> dict:
    run = {
        "task": task,
        "model": model,
        "results": [
            {"shift": "none", "severity": None,
             "metrics": {"wer": {"value": 0.1 + 0.2, "ci95": [1 / 3, 0.7]},
                         "cer": {"value": 1e-300, "ci95": None}}},
            {"shift": "noise", "severity": 1,
             "metrics": {"wer": {"value": 0.41, "ci95": [0.35, 0.47]}, "cer": {"value": None, "ci95": None}}},
            {"shift": "noise", "severity": 5,
             "metrics": {"wer": {"value": 0.9, "ci95": [0.85, 0.95]}}},
            {"shift": "telephone", "severity": 2.5,
             "metrics": {"wer": {"value": 123456789.123456789, "ci95": [-1.5, 2.0 ** 60]}}},
        ],
        "latency": {"scenario": "single-stream", "p50_ms": 12.5, "stages": {"decode": [1, 2, 3]}},
        "provenance": {"git_hash": "a" * 40, "config_hash": "b" * 64, "seed": 7,
                       "gapbench_version": "0.1.0", "hardware": {"gpus": None}},
    }
    run.update(kw)
    return run


def _counts(store: object) -> dict[str, int]:
    import sqlalchemy as sa

    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("runs", "results", "metric_values", "sample_records")
        }


# ---- round trips -----------------------------------------------------------------------------


def test_round_trip_exact(store):
    run = _run(run_id="run-1", created_at="2026-01-02T03:04:05.123456+00:00")
    assert store.save_run(run) == "run-1"
    got = store.get_run("run-1")
    # what was saved, as the typed run document writes it: metrics, severities (int stays int),
    # latency, provenance, created_at
    assert got == RunDocument.from_json(run).to_json()
    assert got["results"][1]["severity"] == 1 and isinstance(got["results"][1]["severity"], int)
    assert got["results"][3]["severity"] == 2.5
    assert got["results"][0]["metrics"]["wer"]["value"] == 0.1 + 0.2  # bit-exact doubles
    assert list(got["results"][0]["metrics"]) == ["wer", "cer"]  # order kept
    assert json.loads(json.dumps(got)) == got


def test_generated_id_and_created_at(store):
    before = datetime.now(UTC) - timedelta(seconds=5)
    run_id = store.save_run({"task": "t", "model": "m", "results": []})
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{8}", run_id)  # sorts by time, like the runner's ids
    got = store.get_run(run_id)
    assert got["results"] == [] and got["latency"] is None and not got["provenance"]
    created = datetime.fromisoformat(got["created_at"])
    assert created.tzinfo is not None and created >= before


def test_extra_keys_round_trip(store):
    dataset = {"name": "librispeech", "n_samples": 10, "fingerprint": "ab" * 32, "generator": {"tts": "espeak-ng 1.51"}}
    run = _run(run_id="x", notes=["a note"], dataset=dataset)
    run["results"][0]["n_skipped"] = 1
    run["results"][0]["skipped"] = [{"sample_id": "s3", "reason": "too small"}]
    store.save_run(run)
    got = store.get_run("x")
    assert got["notes"] == ["a note"] and got["dataset"] == dataset
    assert got["results"][0]["n_skipped"] == 1 and got["results"][0]["skipped"][0]["sample_id"] == "s3"
    with pytest.raises(InputError, match="dataset"):  # a dataset block must say what makes runs comparable
        store.save_run(_run(run_id="y", dataset={"name": "librispeech", "n": 10}))


def test_created_at_naive_is_utc(store):
    store.save_run(_run(run_id="naive", created_at="2026-03-01T10:00:00"))
    assert store.get_run("naive")["created_at"] == "2026-03-01T10:00:00+00:00"


def test_nan_becomes_none(store):
    nan = float("nan")
    run = {"run_id": "nan", "task": "t", "model": "m", "results": [
        {"shift": "none", "severity": None, "metrics": {
            "a": {"value": nan, "ci95": [0.1, 0.2]},
            "b": {"value": 0.5, "ci95": [nan, 0.9]},
            "c": {"value": 0.5, "ci95": [nan, nan]},
            "d": 0.25,  # bare number = value without interval
        }}],
        "latency": {"p99": nan, "ok": 1.0, "inf": float("inf")}}
    records = [{"sample_id": "s1", "shift": "none", "severity": None, "wer": nan,
                "nested": {"x": [1.0, nan, float("-inf")]}}]
    store.save_run(run, records)
    m = store.get_run("nan")["results"][0]["metrics"]
    assert m == {"a": {"value": None, "ci95": [0.1, 0.2]}, "b": {"value": 0.5, "ci95": None},
                 "c": {"value": 0.5, "ci95": None}, "d": {"value": 0.25, "ci95": None}}
    assert store.get_run("nan")["latency"] == {"p99": None, "ok": 1.0, "inf": None}
    assert store.get_records("nan") == [{"sample_id": "s1", "shift": "none", "severity": None,
                                         "wer": None, "nested": {"x": [1.0, None, None]}}]


def test_numpy_values(store):
    np = pytest.importorskip("numpy")
    run = {"run_id": "np", "task": "t", "model": "m", "results": [
        {"shift": "blur", "severity": np.int64(3),
         "metrics": {"acc": {"value": np.float64(0.75), "ci95": (np.float32(0.5), np.float64(0.9))}}}]}
    recs = [{"sample_id": "a", "shift": "blur", "severity": np.int64(3), "probs": np.array([0.25, 0.75]),
             "label": np.int32(4), "score": np.float32(np.nan)}]
    store.save_run(run, recs)
    res = store.get_run("np")["results"][0]
    assert res["severity"] == 3 and isinstance(res["severity"], int)
    assert res["metrics"]["acc"] == {"value": 0.75, "ci95": [0.5, 0.9]}
    assert store.get_records("np") == [
        {"sample_id": "a", "shift": "blur", "severity": 3, "probs": [0.25, 0.75], "label": 4, "score": None}
    ]


def test_records_round_trip_and_filter(store):
    records = []
    for shift, sev in [("none", None), ("fog", 1), ("fog", 3), ("noise", 2.5)]:
        for i in range(3):
            records.append({"sample_id": f"img-{i}", "shift": shift, "severity": sev,
                            "correct": i % 2 == 0, "top5": ["cat", "dög", "🐟"], "loss": i / 3,
                            "meta": {"w": 640, "h": None, "boxes": [[0, 0, 1, 1]]}})
    store.save_run(_run(run_id="r"), records)
    assert store.get_records("r") == records  # order and JSON payloads kept
    fog = store.get_records("r", shift="fog")
    assert [(r["sample_id"], r["severity"]) for r in fog] == [(f"img-{i}", s) for s in (1, 3) for i in range(3)]
    assert store.get_records("r", shift="snow") == []
    store.save_run(_run(run_id="no-records"))
    assert store.get_records("no-records") == []
    with pytest.raises(RunNotFoundError):
        store.get_records("missing")


def test_many_records_cross_chunks(store):
    from gapbench.store.store import RECORD_CHUNK

    n = RECORD_CHUNK * 2 + 17
    records = ({"sample_id": f"s{i}", "shift": "none", "severity": None, "v": i} for i in range(n))
    store.save_run({"run_id": "big", "task": "t", "model": "m"}, records)  # a generator is fine
    got = store.get_records("big")
    assert len(got) == n and got[-1] == {"sample_id": f"s{n - 1}", "shift": "none", "severity": None, "v": n - 1}


def test_record_defaults(store):
    store.save_run({"run_id": "d", "task": "t", "model": "m"}, [{"sample_id": 17}, {"sample_id": "b", "x": 1}])
    assert store.get_records("d") == [
        {"sample_id": "17", "shift": "none", "severity": None},
        {"sample_id": "b", "shift": "none", "severity": None, "x": 1},
    ]


# ---- listing ---------------------------------------------------------------------------------


def test_list_runs_filters_and_order(store):
    specs = [("a1", "asr", "m1", 0), ("a2", "asr", "m2", 1), ("c1", "image-classification", "m1", 2),
             ("a3", "asr", "m1", 3)]
    for run_id, task, model, minutes in specs:
        store.save_run(_run(task, model, run_id=run_id, created_at=(T0 + timedelta(minutes=minutes)).isoformat()))
    assert [r["run_id"] for r in store.list_runs()] == ["a3", "c1", "a2", "a1"]
    assert [r["run_id"] for r in store.list_runs(task="asr")] == ["a3", "a2", "a1"]
    assert [r["run_id"] for r in store.list_runs(model="m1")] == ["a3", "c1", "a1"]
    assert [r["run_id"] for r in store.list_runs(task="asr", model="m1")] == ["a3", "a1"]
    assert [r["run_id"] for r in store.list_runs(limit=2)] == ["a3", "c1"]
    assert store.list_runs(task="nope") == []
    top = store.list_runs(limit=1)[0]
    assert top["task"] == "asr" and top["model"] == "m1"
    assert top["created_at"] == (T0 + timedelta(minutes=3)).isoformat()
    assert top["git_hash"] == "a" * 40 and top["config_hash"] == "b" * 64
    # headline metrics = the clean result's
    assert top["metrics"] == {"wer": {"value": 0.1 + 0.2, "ci95": [1 / 3, 0.7]},
                              "cer": {"value": 1e-300, "ci95": None}}


def test_list_runs_headline_without_clean_result(store):
    run = _run(run_id="shifted-only")
    run["results"] = run["results"][1:]
    store.save_run(run)
    store.save_run({"run_id": "empty", "task": "asr", "model": "m", "created_at": "2020-01-01T00:00:00+00:00"})
    listed = {r["run_id"]: r for r in store.list_runs()}
    assert listed["shifted-only"]["metrics"]["wer"]["value"] == 0.41  # first saved result
    assert listed["empty"]["metrics"] == {}


def test_same_created_at_newest_insert_first(store):
    for run_id in ("first", "second"):
        store.save_run(_run(run_id=run_id, created_at=T0.isoformat()))
    assert [r["run_id"] for r in store.list_runs()] == ["second", "first"]


# ---- atomicity and errors --------------------------------------------------------------------


def test_bad_record_saves_nothing(store):
    store.save_run(_run(run_id="keep"), [{"sample_id": "k", "shift": "none", "severity": None}])
    before = _counts(store)
    records = [{"sample_id": f"s{i}", "shift": "none", "severity": None} for i in range(10)]
    records.append({"sample_id": None, "shift": "none"})
    with pytest.raises(InputError, match=r"records\[10\].*sample_id"):
        store.save_run(_run(run_id="bad"), records)
    assert _counts(store) == before
    with pytest.raises(RunNotFoundError):
        store.get_run("bad")
    assert [r["run_id"] for r in store.list_runs()] == ["keep"]


def test_failure_after_chunks_were_written_saves_nothing(store):
    from gapbench.store.store import RECORD_CHUNK

    def records():
        for i in range(RECORD_CHUNK * 2 + 5):
            yield {"sample_id": f"s{i}", "shift": "none", "severity": None}
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        store.save_run(_run(run_id="half"), records())
    assert _counts(store) == {"runs": 0, "results": 0, "metric_values": 0, "sample_records": 0}
    assert store.list_runs() == []


def test_duplicate_run_id(store):
    store.save_run(_run(run_id="dup"), [{"sample_id": "a"}])
    before = _counts(store)
    with pytest.raises(StoreError, match="already in the store"):
        store.save_run(_run(run_id="dup", model="other"), [{"sample_id": "b"}])
    assert _counts(store) == before
    assert store.get_run("dup")["model"] == "whisper-tiny"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: r.pop("task"), "'task'"),
        (lambda r: r.update(model=3), "'model'"),
        (lambda r: r.update(task="t" * 201), "'task'"),  # same limit on SQLite and PostgreSQL
        (lambda r: r["results"][0]["metrics"].update(x={"value": "high"}), "value"),
        (lambda r: r["results"][0]["metrics"].update(x={"value": 1, "ci95": [1]}), "ci95"),
        (lambda r: r["results"].append({"shift": "none", "severity": None, "metrics": {}}), "one result per"),
        (lambda r: r["results"][1].update(severity="high"), "severity"),
        (lambda r: r.update(created_at="yesterday"), "created_at"),
    ],
)
def test_invalid_runs_are_rejected(store, mutate, match):
    run = _run(run_id="invalid")
    mutate(run)
    with pytest.raises(InputError, match=match):
        store.save_run(run)
    assert _counts(store)["runs"] == 0


def test_too_long_sample_id_is_input_error(store):
    with pytest.raises(InputError, match="sample_id"):
        store.save_run(_run(run_id="long"), [{"sample_id": "x" * 501}])
    assert _counts(store)["runs"] == 0


def test_get_missing_run(store):
    with pytest.raises(RunNotFoundError) as e:
        store.get_run("nope")
    assert isinstance(e.value, LookupError)


def test_delete_run(store):
    store.save_run(_run(run_id="gone"), [{"sample_id": "a"}] * 3)
    store.save_run(_run(run_id="stays"), [{"sample_id": "b"}])
    store.delete_run("gone")
    assert _counts(store) == {"runs": 1, "results": 4, "metric_values": 6, "sample_records": 1}
    with pytest.raises(RunNotFoundError):
        store.delete_run("gone")


def test_reopen_keeps_data(store_url):
    with open_store(store_url) as s:
        s.save_run(_run(run_id="persist"), [{"sample_id": "a", "v": 1}])
    with open_store(store_url) as s:  # tables exist: open again without error
        assert s.get_run("persist")["results"][0]["metrics"]["wer"]["value"] == 0.1 + 0.2
        assert s.get_records("persist") == [{"sample_id": "a", "shift": "none", "severity": None, "v": 1}]


def test_provenance_from_collector_round_trips(store):
    from gapbench.core.provenance import collect_provenance

    prov = collect_provenance(seed=123, config={"task": "asr", "shifts": ["noise"]}, model_fingerprint="sha256:abc")
    store.save_run(_run(run_id="prov", provenance=prov))
    assert store.get_run("prov")["provenance"] == prov
    listed = store.list_runs()[0]
    assert listed["config_hash"] == prov["config_hash"] and listed["git_hash"] == prov["git_hash"]


# ---- URLs (no database needed) ---------------------------------------------------------------


def test_normalise_url():
    assert normalise_url("postgresql://u@127.0.0.1:5432/db") == "postgresql+psycopg://u@127.0.0.1:5432/db"
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert normalise_url("/tmp/results.db") == "sqlite:////tmp/results.db"
    assert normalise_url(Path("/tmp/r.db")) == "sqlite:////tmp/r.db"


def test_default_url_env_and_data_dir(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("GAPBENCH_STORE", raising=False)
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda appname=None, *a, **k: str(tmp_path / appname))
    assert default_url() == f"sqlite:///{tmp_path / 'gapbench' / 'gapbench.db'}"
    assert resolve_url(None) == default_url()

    monkeypatch.setenv("GAPBENCH_STORE", "postgresql://team@127.0.0.1:5432/gapbench")
    assert resolve_url() == "postgresql+psycopg://team@127.0.0.1:5432/gapbench"
    # an explicit URL wins over the environment
    assert resolve_url(f"sqlite:///{tmp_path / 'mine.db'}") == f"sqlite:///{tmp_path / 'mine.db'}"


def test_open_default_store_creates_file_in_data_dir(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("GAPBENCH_STORE", raising=False)
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda appname=None, *a, **k: str(tmp_path / "data" / appname))
    with open_store() as s:
        s.save_run({"run_id": "d", "task": "t", "model": "m"})
    assert (tmp_path / "data" / "gapbench" / "gapbench.db").is_file()

    monkeypatch.setenv("GAPBENCH_STORE", str(tmp_path / "env.db"))
    with open_store() as s:
        assert s.list_runs() == []
    assert (tmp_path / "env.db").is_file()


def test_unreachable_postgres_is_one_line_error():
    with pytest.raises(StoreError, match=r"cannot open store postgresql\+psycopg://u:\*\*\*@127.0.0.1:9/db"):
        open_store("postgresql://u:secret@127.0.0.1:9/db?connect_timeout=2")


def test_in_memory_sqlite():
    with open_store("sqlite://") as s:
        s.save_run({"run_id": "m", "task": "t", "model": "m"}, [{"sample_id": "a"}])
        assert len(s.get_records("m")) == 1


def test_import_is_lazy():
    code = "import gapbench, gapbench.store, sys; assert 'sqlalchemy' not in sys.modules, 'eager'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nan_metric_is_none_not_nan_on_read(store):
    store.save_run({"run_id": "n", "task": "t", "model": "m",
                    "results": [{"shift": "none", "severity": None, "metrics": {"x": {"value": math.nan}}}]})
    assert store.get_run("n")["results"][0]["metrics"]["x"]["value"] is None
