"""The embedded default suite end to end: every job runs offline, lands in the store and in JSON."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gapbench.suite import load_suite, run_suite


def test_default_suite_runs_every_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    outcomes, path = run_suite("default", out_dir=tmp_path / "out", store_url=url, bootstrap=50)
    spec = load_suite("default")
    assert [o.name for o in outcomes] == [j["name"] for j in spec["jobs"]]
    errors = {o.name: o.error for o in outcomes if o.error}
    assert not errors
    for o, job in zip(outcomes, spec["jobs"]):
        assert list(o.metrics) == job["show"], o.name
        assert all(m["value"] is not None for m in o.metrics.values()), o.name
        assert o.run_id
    saved = json.loads(path.read_text())
    assert [j["name"] for j in saved["jobs"]] == [o.name for o in outcomes]

    from gapbench.store import open_store

    store = open_store(url)
    try:
        assert len(store.list_runs()) == len(outcomes)
        coco = next(o for o in outcomes if o.kind == "score:coco")
        assert store.get_run(coco.run_id)["results"][0]["metrics"]["AP"] == coco.metrics["AP"]
    finally:
        store.close()


def test_a_failing_job_does_not_lose_the_others(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"ref": "a b"}\n')
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: mixed\njobs:\n"
        f"  - {{name: broken, score: wer, args: {{pairs: '{tmp_path / 'bad.jsonl'}'}}}}\n"
        "  - {name: topk, score: topk, args: {logits: 'examples:topk_logits.npy', labels: 'examples:topk_labels.npy'}}\n"
    )
    outcomes, _ = run_suite(str(suite), out_dir=tmp_path / "o", store_url=f"sqlite:///{tmp_path / 'db'}", bootstrap=20)
    assert outcomes[0].error and "bad.jsonl" in outcomes[0].error and "line 1" in outcomes[0].error
    assert outcomes[1].error is None and outcomes[1].metrics["top1"]["value"] > 0


@pytest.mark.slow
def test_gapbench_without_arguments_prints_the_table(tmp_path: Path) -> None:
    env = {**os.environ, "GAPBENCH_STORE": f"sqlite:///{tmp_path / 'db'}", "GAPBENCH_NO_PROGRESS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "gapbench default suite" in proc.stdout and "results JSON:" in proc.stdout
    assert list((tmp_path / "gapbench-out").glob("suite-default-*.json"))
