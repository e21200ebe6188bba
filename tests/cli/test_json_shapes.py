"""``--format json`` on every command: only the JSON document on stdout, integers for counts,
and the top-level shapes that docs/json-shapes.md documents."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gapbench.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "json-shapes.md"
COUNT_KEYS = {"n", "n_cached", "n_computed", "count", "utterances", "images", "files", "samples", "resamples",
              "seed", "n_samples", "gt_annotations", "detections", "categories", "reference_words",
              "hypothesis_words", "errors", "substitutions", "deletions", "insertions", "hits"}


def documented() -> dict[str, Any]:
    """The example documents of docs/json-shapes.md, by command ("score wer", "run", ...)."""
    text = DOC.read_text(encoding="utf-8")
    return {k: json.loads(body) for k, body in re.findall(r"### (.+?)\n\n`[^`]*`\n\n```json\n(.*?)\n```", text, re.S)}


def _counts_are_ints(x: Any, path: str = "") -> None:
    if isinstance(x, dict):
        for k, v in x.items():
            if k in COUNT_KEYS and v is not None and not isinstance(v, (dict, list)):
                assert isinstance(v, int), f"{path}.{k} = {v!r}"
            if k in COUNT_KEYS and isinstance(v, dict) and "value" in v and v["value"] is not None:
                assert isinstance(v["value"], int), f"{path}.{k} = {v!r}"
            _counts_are_ints(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _counts_are_ints(v, f"{path}[{i}]")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, refdata: Path) -> Path:
    tmp = tmp_path_factory.mktemp("shapes")
    shutil.copy(refdata / "wer" / "pairs.jsonl", tmp / "pairs.jsonl")
    rows = [json.loads(line) for line in (tmp / "pairs.jsonl").read_text().splitlines()]
    with (tmp / "pairs_b.jsonl").open("w") as f:
        for i, r in enumerate(rows):
            f.write(json.dumps({**r, "hyp": r["ref"] if i % 3 == 0 else r["hyp"]}) + "\n")
    shutil.copy(refdata / "coco" / "real_val2014_100" / "gt.json", tmp / "gt.json")
    shutil.copy(refdata / "coco" / "real_val2014_100" / "dt_bbox.json", tmp / "dt.json")
    dets = json.loads((tmp / "dt.json").read_text())
    (tmp / "dt_b.json").write_text(json.dumps([d for i, d in enumerate(dets) if i % 4]))
    shutil.copy(refdata / "der" / "ami_test4_synth" / "ref.rttm", tmp / "ref.rttm")
    shutil.copy(refdata / "der" / "ami_test4_synth" / "hyp.rttm", tmp / "hyp.rttm")
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, size=(12, 8, 8)).astype(np.uint8)
    np.save(tmp / "sg.npy", gt)
    np.save(tmp / "sp.npy", np.where(rng.random(gt.shape) < 0.7, gt, 0).astype(np.uint8))
    np.save(tmp / "sp2.npy", np.where(rng.random(gt.shape) < 0.5, gt, 0).astype(np.uint8))
    labels = rng.integers(0, 6, size=40)
    np.save(tmp / "tl.npy", labels)
    np.save(tmp / "tx.npy", rng.normal(size=(40, 6)) + 2 * np.eye(6)[labels])
    np.save(tmp / "tx2.npy", rng.normal(size=(40, 6)))
    (tmp / "tiny.yaml").write_text("name: tiny\njobs:\n  - name: digits\n    run: {task: digits, limit: 40}\n"
                                   "    show: [top1]\n  - name: wer\n    score: wer\n"
                                   f"    args: {{pairs: {tmp / 'pairs.jsonl'}}}\n    show: [wer]\n")
    return tmp


def commands(t: Path) -> dict[str, list[str]]:
    store = ["--store", str(t / "runs.db")]
    return {
        "score wer": ["score", "wer", str(t / "pairs.jsonl"), "--bootstrap", "100"],
        "score cer": ["score", "cer", str(t / "pairs.jsonl"), "--bootstrap", "100"],
        "score coco": ["score", "coco", str(t / "gt.json"), str(t / "dt.json"), "--bootstrap", "100"],
        "score der": ["score", "der", str(t / "ref.rttm"), str(t / "hyp.rttm"), "--bootstrap", "100"],
        "score seg": ["score", "seg", str(t / "sg.npy"), str(t / "sp.npy"), "--num-classes", "4", "--bootstrap", "100"],
        "score topk": ["score", "topk", str(t / "tx.npy"), str(t / "tl.npy")],
        "compare wer": ["compare", "wer", str(t / "pairs.jsonl"), str(t / "pairs_b.jsonl"), "--bootstrap", "100"],
        "compare coco": ["compare", "coco", str(t / "gt.json"), str(t / "dt.json"), str(t / "dt_b.json"),
                         "--bootstrap", "100"],
        "compare der": ["compare", "der", str(t / "ref.rttm"), str(t / "hyp.rttm"), str(t / "ref.rttm"),
                        "--bootstrap", "100"],
        "compare seg": ["compare", "seg", str(t / "sg.npy"), str(t / "sp.npy"), str(t / "sp2.npy"),
                        "--num-classes", "4", "--bootstrap", "100"],
        "compare topk": ["compare", "topk", str(t / "tx.npy"), str(t / "tx2.npy"), str(t / "tl.npy"),
                         "--bootstrap", "100"],
        "run": ["run", "digits", "--limit", "40", "--bootstrap", "100", "--out", str(t / "out"), *store],
        "suite": ["suite", str(t / "tiny.yaml"), "--bootstrap", "100", "--out", str(t / "out"), *store],
        "runs": ["runs", *store],
        "tasks": ["tasks"],
        "models": ["models"],
        "shifts": ["shifts"],
    }


ORDER = ["score wer", "score cer", "score coco", "score der", "score seg", "score topk", "compare wer",
         "compare coco", "compare der", "compare seg", "compare topk", "run", "suite", "runs", "tasks", "models",
         "shifts"]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[Any, str]:
    capsys.readouterr()
    assert main([*argv, "--format", "json"]) == 0
    cap = capsys.readouterr()
    assert cap.out.endswith("\n") and cap.out.count("\n") == 1, cap.out[:200]  # one document, one line
    assert not any(line.lstrip().startswith(("{", "[")) for line in cap.err.splitlines()), cap.err
    return json.loads(cap.out), cap.err


@pytest.mark.slow
def test_every_command_prints_only_json_with_integer_counts(work: Path, capsys) -> None:
    docs = documented()
    cmds = commands(work)
    seen: dict[str, Any] = {}
    for name in ORDER:
        doc, err = _json(capsys, cmds[name])
        seen[name] = doc
        _counts_are_ints(doc, name)
        for note in (doc.get("notes", []) if isinstance(doc, dict) else []):
            assert note in err  # the notes are said on stderr too
        if name.startswith("score"):
            assert {"kind", "metrics", "info"} <= set(doc)
        if name.startswith("compare"):
            assert {"kind", "metric", "a", "b", "diff", "p_value", "n", "info"} <= set(doc)
        if name in docs and isinstance(doc, dict):
            optional = {"notes"}
            assert set(doc) - optional == set(docs[name]) - optional, name
    assert isinstance(seen["score wer"]["metrics"]["substitutions"]["value"], int)
    assert "per_class" in seen["score coco"] and "per_class" in seen["score seg"]
    run_id = seen["run"]["run_id"]
    for entry in [*seen["run"]["results"], *(r for j in seen["suite"]["jobs"] for r in j["results"])]:
        assert set(entry["metrics"]) and all(set(m) == {"value", "ci95"} for m in entry["metrics"].values())
    shown, _ = _json(capsys, ["show", run_id, "--store", str(work / "runs.db")])
    assert set(shown) - {"notes"} == set(docs["show"]) - {"notes"}
    assert shown["results"][0]["metrics"] == seen["run"]["results"][0]["metrics"]
    listed, _ = _json(capsys, ["runs", "--store", str(work / "runs.db")])
    wer_run = next(r for r in listed if r["task"] == "score:wer")
    assert type(wer_run["metrics"]["substitutions"]["value"]) is int
    assert set(listed[0]) == set(docs["runs"][0])
