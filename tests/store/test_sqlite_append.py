"""Appending with sqlite3 writes the very rows SQLAlchemy writes, and gives way whenever it should."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gapbench.errors import InputError
from gapbench.store import StoreError, open_store, save_run
from gapbench.store.rows import JSON_COLUMNS, SCHEMA_VERSION, run_rows
from gapbench.store.sqlite_append import append_run, sqlite_file

TABLES = ("runs", "results", "metric_values", "sample_records", "gapbench_meta")


def _runs() -> list[tuple[dict, list | None]]:
    """Runs with what can go wrong in binding: NaN/inf/None values, int counts, int and float
    severities, zones, unicode, numpy-free JSON, records with and without payloads."""
    full = {
        "run_id": "r-full", "task": "asr", "model": "hf:./tiny ünïcode", "created_at": "2026-01-02T03:04:05.123456+02:00",
        "results": [
            {"shift": "none", "severity": None, "notes": ["a note"],
             "metrics": {"wer": {"value": 0.1 + 0.2, "ci95": [1 / 3, 0.7]}, "n": {"value": 1575, "ci95": None},
                         "cer": {"value": float("nan"), "ci95": None}}},
            {"shift": "noise", "severity": 3, "metrics": {"wer": {"value": 2.0 ** 60, "ci95": [-1.5, 1e-300]}}},
            {"shift": "telephone", "severity": 2.5, "metrics": {}},
        ],
        "latency": {"scenario": "offline", "p50_ms": 12.5, "stages": {"decode": [1, 2, 3]}, "x": float("inf")},
        "provenance": {"git_hash": "a" * 40, "config_hash": "b" * 64, "seed": 7, "gapbench_version": "0.1.0",
                       "hardware": {"gpus": None}},
    }
    records = [
        {"sample_id": "s1", "shift": "none", "severity": None, "wer": 0.5, "hyp": "ça va"},
        {"sample_id": "s1", "shift": "noise", "severity": 3, "wer": float("nan")},
        {"sample_id": "s2", "shift": "telephone", "severity": 2.5},
    ]
    bare = {"run_id": "r-bare", "task": "digits", "model": "m", "created_at": "2026-03-04T05:06:07", "results": []}
    return [(full, records), (bare, None), ({**bare, "run_id": "r-empty-records"}, [])]


def _dump(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows with each value's SQLite storage class, in insertion order."""
    with sqlite3.connect(path) as conn:
        out = {}
        for t in TABLES:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
            sel = ", ".join(f"{c}, typeof({c})" for c in (f'"{c}"' for c in cols))
            out[t] = conn.execute(f"SELECT {sel} FROM {t} ORDER BY rowid").fetchall()
    return out


def _new_store(path: Path) -> Path:
    open_store(f"sqlite:///{path}").close()
    return path


def test_appended_rows_equal_sqlalchemys_table_by_table(tmp_path):
    by_sqlalchemy, appended = tmp_path / "a.db", _new_store(tmp_path / "b.db")
    with open_store(f"sqlite:///{by_sqlalchemy}") as store:
        for run, records in _runs():
            store.save_run(run, records)
    for run, records in _runs():
        assert append_run(f"sqlite:///{appended}", run_rows(run, records))
    a, b = _dump(by_sqlalchemy), _dump(appended)
    assert a["sample_records"] and a["metric_values"]  # the comparison compares something
    assert a == b
    with open_store(f"sqlite:///{appended}") as store:  # and SQLAlchemy reads them back
        got = store.get_run("r-full")
        assert got["results"][0]["metrics"]["n"]["value"] == 1575  # a count comes back an int
        assert got["results"][0]["metrics"]["cer"]["value"] is None  # NaN: undefined
        assert [r["sample_id"] for r in store.get_records("r-full")] == ["s1", "s1", "s2"]


def test_json_columns_are_the_models_json_columns():
    from gapbench.store.models import JSONType, metadata

    declared = {t.name: tuple(c.name for c in t.columns if c.type is JSONType) for t in metadata.tables.values()}
    assert {k: v for k, v in declared.items() if v} == JSON_COLUMNS
    from gapbench.store.models import SCHEMA_VERSION as models_version

    assert models_version == SCHEMA_VERSION


def test_it_gives_way_where_sqlalchemy_must_answer(tmp_path):
    rows = run_rows({"task": "t", "model": "m", "results": []})
    assert not append_run(f"sqlite:///{tmp_path / 'missing.db'}", rows)  # no store yet: Store creates it
    assert not (tmp_path / "missing.db").exists()
    assert not append_run("postgresql+psycopg://u@127.0.0.1/db", rows)
    assert not append_run("sqlite:///:memory:", rows)
    assert sqlite_file(f"sqlite:///{tmp_path}?mode=ro") is None
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert not append_run(f"sqlite:///{garbage}", rows)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:  # a SQLite file of somebody else's
        conn.execute("CREATE TABLE t (x)")
    assert not append_run(f"sqlite:///{other}", rows)
    newer = _new_store(tmp_path / "newer.db")
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE gapbench_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    assert not append_run(f"sqlite:///{newer}", rows)
    with pytest.raises(StoreError, match="newer gapbench"):  # and the store says why, once
        save_run({"task": "t", "model": "m", "results": []}, url=f"sqlite:///{newer}")


def test_save_run_creates_then_appends_and_refuses_a_duplicate_id(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run, records = _runs()[0]
    assert save_run(run, records, url) == "r-full"  # created through SQLAlchemy
    assert save_run({**run, "run_id": "r-2"}, records, url) == "r-2"  # appended
    with pytest.raises(StoreError, match="already in the store"):
        save_run(run, records, url)
    with open_store(url) as store:
        assert [r["run_id"] for r in store.list_runs()] == ["r-2", "r-full"]


def test_a_bad_record_writes_nothing(tmp_path):
    path = _new_store(tmp_path / "s.db")
    run, _ = _runs()[1]
    with pytest.raises(InputError, match=r"records\[1\]"):
        append_run(f"sqlite:///{path}", run_rows(run, [{"sample_id": "ok"}, {"shift": "none"}]))
    assert all(not rows for t, rows in _dump(path).items() if t != "gapbench_meta")


def test_a_run_into_an_existing_store_never_imports_sqlalchemy(tmp_path):
    path = _new_store(tmp_path / "s.db")
    code = (
        "import sys\nfrom gapbench.cli import main\n"
        f"rc = main(['run', 'digits', '--limit', '8', '--no-ci', '--no-cache', '--format', 'json', "
        f"'--out', {str(tmp_path / 'out')!r}, '--store', {str(path)!r}])\n"
        "print(rc, 'sqlalchemy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "GAPBENCH_NO_PROGRESS": "1"})
    assert out.stdout.strip().splitlines()[-1] == "0 False"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT task FROM runs").fetchall() == [("digits",)]


def _save_many(url: str, worker: int) -> None:
    run, records = _runs()[0]
    for i in range(4):
        save_run({**run, "run_id": f"w{worker}-{i}"}, records * 500, url)


def test_processes_appending_at_once_all_land(tmp_path):
    import multiprocessing as mp

    url = f"sqlite:///{_new_store(tmp_path / 's.db')}"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_save_many, args=(url, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (16,)
        assert conn.execute("SELECT COUNT(*) FROM sample_records").fetchone() == (16 * 1500,)
