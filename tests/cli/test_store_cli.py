"""Results-store failures through ``gapbench run`` / ``suite``, and ``gapbench runs`` / ``show``."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gapbench.cli import main

RUN = ["run", "digits", "--limit", "16", "--no-ci", "--no-cache"]


def _store_cases(tmp: Path) -> dict[str, str]:
    garbage = tmp / "garbage.db"
    garbage.write_bytes(os.urandom(4096))
    (tmp / "a_dir").mkdir()
    ro = tmp / "ro.db"
    assert main([*RUN, "--store", str(ro), "--out", str(tmp / "setup")]) == 0  # a valid store file
    if os.geteuid() != 0:  # root writes through file modes; the URI below is read-only for everyone
        ro.chmod(0o444)
    return {
        "unreachable postgres": "postgresql://me@127.0.0.1:1/gb",
        "unknown scheme": "foo://bar",
        "read-only sqlite": f"sqlite:///file:{ro}?mode=ro&uri=true",
        "garbage sqlite": str(garbage),
        "directory": str(tmp / "a_dir"),
    }


@pytest.mark.slow
def test_run_store_failures_are_one_line_and_keep_the_json(tmp_path: Path, capsys) -> None:
    cases = _store_cases(tmp_path)
    capsys.readouterr()
    for what, url in cases.items():
        out = tmp_path / what.replace(" ", "_")
        for fmt in ("table", "json"):
            code = main([*RUN, "--store", url, "--out", str(out), "--format", fmt])
            cap = capsys.readouterr()
            assert code == 2, (what, cap.err)
            assert cap.err.count("\n") == 1 and cap.err.startswith("gapbench: error: "), (what, cap.err)
            assert "Traceback" not in cap.err
            written = [p for p in out.glob("*.json")]
            assert written, what
            newest = max(written, key=lambda p: p.stat().st_mtime_ns)
            assert f"the run's JSON was written to {newest}" in cap.err, (what, cap.err)
            doc = json.loads(newest.read_text())  # nothing lost: the whole run document
            assert doc["results"][0]["n"] == 16 and doc["kind"] == "run"


def test_suite_store_failure_names_the_suite_json(tmp_path: Path, capsys) -> None:
    suite = tmp_path / "tiny.yaml"
    suite.write_text("name: tiny\njobs:\n  - name: digits\n    run: {task: digits, limit: 16}\n    show: [top1]\n")
    capsys.readouterr()
    main(["suite", str(suite), "--store", "foo://bar", "--out", str(tmp_path / "o"), "--bootstrap", "20"])
    err = capsys.readouterr().err
    (path,) = (tmp_path / "o").glob("suite-*.json")
    assert "not saved to the store" in err and "foo://bar" in err
    assert json.loads(path.read_text())["jobs"][0]["results"][0]["n"] == 16
    assert "Traceback" not in err


def test_runs_and_show(tmp_path: Path, capsys) -> None:
    store = f"sqlite:///{tmp_path / 's.db'}"
    capsys.readouterr()
    assert main([*RUN, "--store", store, "--out", str(tmp_path / "o"), "--format", "json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["runs", "--store", store, "--format", "json"]) == 0
    cap = capsys.readouterr()
    (row,) = json.loads(cap.out)
    assert row["run_id"] == run_id and row["task"] == "digits" and "top1" in row["metrics"] and cap.err == ""
    assert main(["runs", "--store", store]) == 0
    out = capsys.readouterr().out
    assert run_id in out and "runs (1 newest)" in out and "top1" in out
    assert main(["show", run_id, "--store", store, "--format", "json"]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert doc["run_id"] == run_id and doc["results"][0]["n"] == 16 and cap.err == ""
    assert main(["show", run_id, "--store", store]) == 0
    cap = capsys.readouterr()
    assert "digits x builtin:digits-logreg [shift: none, 16 samples]" in cap.out and run_id in cap.err
    for fmt in ("table", "json"):
        assert main(["show", "nosuch-run-42", "--store", store, "--format", fmt]) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err == "gapbench: error: no run 'nosuch-run-42' in the store\n"
    assert main(["runs", "--store", "foo://bar"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_suite_store_failure_is_an_error_naming_the_json(tmp_path: Path, capsys) -> None:
    suite = tmp_path / "tiny.yaml"
    suite.write_text("name: tiny\njobs:\n  - name: digits\n    run: {task: digits, limit: 16}\n    show: [top1]\n")
    capsys.readouterr()
    code = main(["suite", str(suite), "--store", "foo://bar", "--out", str(tmp_path / "o"), "--bootstrap", "20"])
    err = capsys.readouterr().err
    (path,) = (tmp_path / "o").glob("suite-*.json")
    assert code != 0 and "gapbench: error: " in err and str(path) in err
