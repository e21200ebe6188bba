"""Suites end to end: every job of the default suite runs offline and lands in the store and JSON;
bad suites and bad jobs get one line each, and nothing already computed is lost."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gapbench.errors import InputError
from gapbench.suite import load_suite, run_suite


def test_default_suite_runs_every_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    outcomes, path, problems = run_suite("default", out_dir=tmp_path / "out", store_url=url, bootstrap=50)
    spec = load_suite("default")
    assert [o.name for o in outcomes] == [j["name"] for j in spec["jobs"]]
    assert not {o.name: o.error for o in outcomes if o.error} and not problems
    for o, job in zip(outcomes, spec["jobs"]):
        clean = o.document.results[0]
        assert set(job.get("show", clean.metrics)) <= set(clean.metrics), o.name
        assert all(clean.metrics[m].value is not None for m in job.get("show", [])), o.name
        assert o.document.run_id
    saved = json.loads(path.read_text())
    assert [j["name"] for j in saved["jobs"]] == [o.name for o in outcomes]
    assert all("metrics" in r for j in saved["jobs"] for r in j["results"])  # one metrics shape everywhere

    from gapbench.store import open_store

    with open_store(url) as store:
        assert len(store.list_runs()) == len(outcomes)
        coco = next(o for o in outcomes if o.kind == "score:coco")
        stored = store.get_run(coco.document.run_id)["results"][0]["metrics"]["AP"]
        assert stored == coco.document.results[0].metrics["AP"].to_json()


def _suite(tmp_path: Path, jobs: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text("name: mixed\njobs:\n" + jobs)
    return path


def test_a_failing_job_does_not_lose_the_others(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"ref": "a b"}\n')
    logits, labels = "examples:topk_logits.npy", "examples:topk_labels.npy"
    suite = _suite(tmp_path,
                   f"  - {{name: broken, score: wer, args: {{pairs: '{tmp_path / 'bad.jsonl'}'}}}}\n"
                   f"  - {{name: typo, score: wer, args: {{ref: x}}}}\n"
                   f"  - {{name: case, score: topk, args: {{logits: '{logits}', labels: '{labels}'}}, show: [TOP1]}}\n"
                   f"  - {{name: escape, score: topk, args: {{logits: 'examples:../../etc/hostname', labels: x}}}}\n"
                   f"  - {{name: missing, score: topk, args: {{logits: '{tmp_path / 'nope.npy'}', labels: x}}}}\n"
                   f"  - {{name: topk, score: topk, args: {{logits: '{logits}', labels: '{labels}'}}}}\n")
    outcomes, path, _ = run_suite(str(suite), out_dir=tmp_path / "o", store_url=f"sqlite:///{tmp_path / 'db'}",
                                  bootstrap=20)
    err = {o.name: o.error for o in outcomes}
    assert "bad.jsonl" in err["broken"] and "line 1" in err["broken"]
    assert "argument 'ref'" in err["typo"] and "did you mean 'refs'" in err["typo"]
    assert "show: 'TOP1'" in err["case"] and "did you mean 'top1'" in err["case"]
    assert "inside gapbench's examples directory" in err["escape"]
    assert err["missing"] == f"{tmp_path / 'nope.npy'}: no such file"
    assert err["topk"] is None and outcomes[-1].document.results[0].metrics["top1"].value > 0
    assert all("\n" not in e for e in err.values() if e)
    assert json.loads(path.read_text())["jobs"][-1]["results"][0]["metrics"]["top1"]["value"] > 0


def test_suite_files_get_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"suite 'defualt'.*did you mean 'default'"):
        load_suite("defualt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\njobs:\n  - {name: a, score: wer\n")
    with pytest.raises(InputError, match=r"bad\.yaml: line \d+: expected valid YAML"):
        load_suite(str(bad))
    bad.write_text("name: x\njobs:\n  - {name: a, run: {task: digits, modle: x}}\n")
    with pytest.raises(InputError, match=r"job 0 \('a'\): expected 'run' as a mapping"):
        load_suite(str(bad))


def test_store_failure_keeps_the_json(tmp_path: Path) -> None:
    logits, labels = "examples:topk_logits.npy", "examples:topk_labels.npy"
    suite = _suite(tmp_path, f"  - {{name: topk, score: topk, args: {{logits: '{logits}', labels: '{labels}'}}}}\n")
    (tmp_path / "a-directory").mkdir()
    outcomes, path, problems = run_suite(str(suite), out_dir=tmp_path / "o", store_url=str(tmp_path / "a-directory"))
    assert outcomes[0].error is None and path.is_file()
    assert problems and "is a directory" in problems[0] and "suite JSON" in problems[-1]


@pytest.mark.slow
def test_gapbench_without_arguments_prints_the_table(tmp_path: Path) -> None:
    env = {**os.environ, "GAPBENCH_STORE": f"sqlite:///{tmp_path / 'db'}", "GAPBENCH_NO_PROGRESS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "gapbench default suite" in proc.stdout and "results JSON:" in proc.stdout
    assert "wall time:" in proc.stdout
    assert list((tmp_path / "gapbench-out").glob("suite-default-*.json"))
