"""``compare runs``: two runs' per-sample metric states, read back from their records, give the same
paired test as the in-memory metric states of the runs (scoring.compare), for component families
(top-k; WER and CER together) and COCO; runs that must not be compared are refused."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gapbench.core.task import Target, TaskSpec
from gapbench.errors import InputError
from gapbench.runner.local import run_task
from gapbench.runner.sweep import parse_cells
from gapbench.scoring.compare import compare_metrics
from gapbench.scoring.compare_runs import RunsNotComparable, compare_runs, load_run

B = 200  # resamples


def _digits_task(name: str = "digits-cmp") -> TaskSpec:
    return TaskSpec(name=name, type="image-classification",
                    dataset=Target("gapbench.data.embedded:sklearn_digits", {"split": "test"}),
                    metrics=(Target("gapbench.metrics.topk:TopKAccuracy", {"k": [1, 5]}),), num_classes=10)


def _noisy(batch: list[Any]) -> np.ndarray:
    """The built-in classifier on inputs with noise: a worse model, deterministic per input."""
    from gapbench.models.builtin import DigitsLogReg

    clf = DigitsLogReg().clf
    x = np.stack([np.asarray(i, dtype=float).reshape(-1) / 16.0 for i in batch])
    x = x + np.random.default_rng(int(x.sum() * 1000) % 2**32).normal(0, 0.6, x.shape)
    return clf.predict_proba(x)


def _as_stored(outcome: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run document and records as JSON (what the file, the sidecar and the store hold)."""
    doc = json.loads(json.dumps(outcome.document.to_json()))
    return doc, [json.loads(json.dumps(r.to_json())) for r in outcome.records]


@pytest.fixture(scope="module")
def digits_runs() -> tuple[Any, Any]:
    cells = parse_cells(["gaussian_noise"], "2")
    a = run_task(_digits_task(), "builtin:digits-logreg", cache=False, limit=120, cells=cells, bootstrap=B,
                 show_progress=False)
    b = run_task(_digits_task(), _noisy, cache=False, limit=120, cells=cells, bootstrap=B, show_progress=False)
    return a, b


def test_records_give_the_in_memory_paired_test(digits_runs) -> None:
    a, b = digits_runs
    (da, ra), (db, rb) = _as_stored(a), _as_stored(b)
    out = compare_runs(da, ra, db, rb, bootstrap=B, seed=0)
    assert [(c["shift"], c["severity"]) for c in out["cells"]] == [("none", None), ("gaussian_noise", 2)]
    assert out["bootstrap"] == {"resamples": B, "seed": 0, "unit": "sample", "paired": True,
                                "p_value_floor": 1 / (B + 1)}
    for k, cell in enumerate(out["cells"]):
        assert cell["n"] == 120 and set(cell["metrics"]) == {"top1", "top5"}
        for name, row in cell["metrics"].items():
            ref = compare_metrics(a.cells[k].states[0], b.cells[k].states[0], name, a_label="A", b_label="B",
                                  bootstrap=B, seed=0)
            assert row["a"] == da["results"][k]["metrics"][name] and row["b"] == db["results"][k]["metrics"][name]
            assert row["diff"]["value"] == pytest.approx(ref.diff.value, abs=1e-12)
            assert row["diff"]["value"] == pytest.approx(row["a"]["value"] - row["b"]["value"], abs=1e-12)
            assert row["diff"]["ci95"] == list(ref.diff.ci95) and row["p_value"] == ref.p_value
            assert row["higher_is_better"] is True
    assert out["cells"][0]["metrics"]["top1"]["diff"]["ci95"][0] > 0  # the noisy model is worse, clearly
    assert "notes" not in out
    again = compare_runs(da, ra, db, rb, bootstrap=B, seed=0)
    assert again == out  # reproducible
    no_ci = compare_runs(da, ra, db, rb, ci=False)
    assert "bootstrap" not in no_ci and no_ci["cells"][0]["metrics"]["top1"]["diff"]["ci95"] is None


def test_refusals_say_what_differs(digits_runs) -> None:
    a, b = digits_runs
    (da, ra), (db, rb) = _as_stored(a), _as_stored(b)
    other_task = {**db, "task": "digits-other"}
    with pytest.raises(RunsNotComparable, match=r"^runs not comparable: tasks differ \(A: digits-cmp; B: digits-other"):
        compare_runs(da, ra, other_task, rb)
    fewer = run_task(_digits_task(), _noisy, cache=False, limit=100, bootstrap=B, show_progress=False)
    with pytest.raises(RunsNotComparable, match="dataset fingerprints differ .*120 samples.*100 samples"):
        compare_runs(da, ra, *_as_stored(fewer))
    renamed = copy.deepcopy(rb)
    for r in renamed:
        if r["sample_id"] == rb[0]["sample_id"]:
            r["sample_id"] = "renamed"
    with pytest.raises(RunsNotComparable, match=r"sample id sets differ .*1 id\(s\) only here.*'renamed'"):
        compare_runs(da, ra, db, renamed)
    other_k = copy.deepcopy(db)
    for cell in other_k["metric_states"]:
        cell[0]["config"]["k"] = [1, 3]
    with pytest.raises(RunsNotComparable, match="metric settings of cell clean differ"):
        compare_runs(da, ra, other_k, rb)
    with pytest.raises(InputError, match="a run document with a dataset fingerprint"):
        compare_runs(da, ra, {**db, "kind": "score", "dataset": None}, rb)
    assert isinstance(RunsNotComparable("tasks", "x", "y"), InputError)  # the CLI's one line, exit 2


def test_runs_without_states_get_differences_without_intervals(digits_runs) -> None:
    a, b = digits_runs
    (da, ra), (db, rb) = _as_stored(a), _as_stored(b)
    old = {k: v for k, v in db.items() if k != "metric_states"}
    old_records = [{k: v for k, v in r.items() if k != "metric_state"} for r in rb]
    out = compare_runs(da, ra, old, old_records, bootstrap=B)
    row = out["cells"][0]["metrics"]["top1"]
    assert row["diff"]["ci95"] is None and row["p_value"] is None
    assert row["diff"]["value"] == pytest.approx(row["a"]["value"] - row["b"]["value"])
    assert any("no per-sample metric states" in n and "run B" in n for n in out["notes"])


def test_cells_in_one_run_only_are_named(digits_runs) -> None:
    a, _ = digits_runs
    da, ra = _as_stored(a)
    clean = run_task(_digits_task(), _noisy, cache=False, limit=120, bootstrap=B, show_progress=False)
    out = compare_runs(da, ra, *_as_stored(clean), bootstrap=B)
    assert [c["shift"] for c in out["cells"]] == ["none"]
    assert out["notes"] == ["cell gaussian_noise@2 only in A: not compared"]


ASR_DATA = '''
from gapbench.core.sample import Sample
WORDS = "one two three four five six seven eight nine zero".split()
def utterances():
    return [Sample(f"u{i}", f"u{i}", " ".join(WORDS[(i + j) % 10] for j in range(3 + i % 4))) for i in range(40)]
def bad(batch):
    return [" ".join(w for k, w in enumerate(REFS[i].split()) if (k + int(i[1:])) % 3) for i in batch]
REFS = {s.id: s.reference for s in utterances()}
def good(batch):
    return [REFS[i] if int(i[1:]) % 5 else REFS[i].replace("one", "won") for i in batch]
'''


def test_two_metric_families_of_one_task(tmp_path: Path) -> None:
    """WER and CER (two WERMetric states in each record) are each tested against their own states."""
    (tmp_path / "asr_cmp.py").write_text(ASR_DATA)
    task = TaskSpec(name="asr-cmp", type="asr", dataset=Target("asr_cmp.py:utterances", base_dir=str(tmp_path)),
                    metrics=(Target("gapbench.metrics.wer:WERMetric", {"unit": "word"}),
                             Target("gapbench.metrics.wer:WERMetric", {"unit": "char"})))
    a = run_task(task, f"python:{tmp_path / 'asr_cmp.py'}:good", cache=False, bootstrap=B, show_progress=False)
    b = run_task(task, f"python:{tmp_path / 'asr_cmp.py'}:bad", cache=False, bootstrap=B, show_progress=False)
    out = compare_runs(*_as_stored(a), *_as_stored(b), bootstrap=B)
    metrics = out["cells"][0]["metrics"]
    for j, name in ((0, "wer"), (1, "cer")):
        ref = compare_metrics(a.cells[0].states[j], b.cells[0].states[j], name, a_label="A", b_label="B",
                              bootstrap=B)
        assert metrics[name]["diff"]["ci95"] == list(ref.diff.ci95) and metrics[name]["p_value"] == ref.p_value
        assert metrics[name]["higher_is_better"] is False and metrics[name]["diff"]["value"] < 0
    assert metrics["substitutions"]["diff"]["ci95"] is None  # counts: the difference, no test


DET_DATA = '''
import numpy as np
from gapbench.core.sample import Sample
from gapbench.core.predictions import Detections
CATS = [{"id": 1, "name": "thing"}]
def images():
    rng = np.random.default_rng(0)
    out = []
    for i in range(30):
        boxes = [[float(x), float(y), 12.0, 10.0] for x, y in rng.integers(0, 40, size=(1 + i % 3, 2))]
        out.append(Sample(f"img{i}", np.zeros((64, 64), np.uint8) + i,
                          {"boxes": boxes, "labels": [1] * len(boxes), "categories": CATS, "width": 64, "height": 64}))
    return out
REFS = {int(s.input[0, 0]): s.reference for s in images()}
def _det(batch, shift):
    out = []
    for x in batch:
        i = int(np.asarray(x)[0, 0])
        boxes = [(b[0] + shift * (i % 4), b[1], b[2], b[3]) for b in REFS[i]["boxes"]]
        out.append(Detections(tuple(boxes), tuple(0.9 - 0.01 * k for k in range(len(boxes))), (1,) * len(boxes)))
    return out
def close(batch):
    return _det(batch, 1.0)
def off(batch):
    return _det(batch, 3.0)
'''


def test_coco_ap_is_tested_with_compare_coco(tmp_path: Path) -> None:
    from gapbench.scoring.coco import compare_coco

    (tmp_path / "det_cmp.py").write_text(DET_DATA)
    task = TaskSpec(name="det-cmp", type="object-detection",
                    dataset=Target("det_cmp.py:images", base_dir=str(tmp_path)),
                    metrics=(Target("gapbench.metrics.detection:BoxDetectionMetric"),))
    a = run_task(task, f"python:{tmp_path / 'det_cmp.py'}:close", cache=False, bootstrap=B, show_progress=False)
    b = run_task(task, f"python:{tmp_path / 'det_cmp.py'}:off", cache=False, bootstrap=B, show_progress=False)
    out = compare_runs(*_as_stored(a), *_as_stored(b), bootstrap=B)
    row = out["cells"][0]["metrics"]["AP"]
    gt, dt_a = a.cells[0].states[0].to_coco()
    ref = compare_coco(gt, dt_a, b.cells[0].states[0].to_coco()[1], bootstrap=B)
    assert row["diff"]["value"] == pytest.approx(ref.diff.value) and row["diff"]["ci95"] == list(ref.diff.ci95)
    assert row["p_value"] == ref.p_value and row["a"]["value"] == pytest.approx(ref.a.value)
    from gapbench.scoring.coco import paired_coco_tests

    tests, _ = paired_coco_tests(gt, dt_a, b.cells[0].states[0].to_coco()[1], resamples=B)
    for name in ("AP50", "AR100"):  # every stat is paired-tested, not AP alone
        assert out["cells"][0]["metrics"][name]["diff"]["ci95"] == list(tests[name].ci95)


def test_load_run_from_a_file_needs_its_records(tmp_path: Path, digits_runs) -> None:
    a, _ = digits_runs
    doc, recs = _as_stored(a)
    doc["run_id"] = "20260101-000000-aaaaaaaa"
    path = tmp_path / f"{doc['run_id']}.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"records\.jsonl beside it, or the run in the store"):
        load_run(path, f"sqlite:///{tmp_path / 'empty.db'}")
    (tmp_path / f"{doc['run_id']}.records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    got_doc, got_recs, label = load_run(path)
    assert got_doc == doc and got_recs == recs and label == str(path)
    (tmp_path / f"{doc['run_id']}.records.jsonl").write_text("{broken\n")
    with pytest.raises(InputError, match="records.jsonl: line 1: expected a JSON record"):
        load_run(path)


def test_a_sample_skipped_in_one_cell_is_left_out_of_that_pairing_with_a_note(digits_runs) -> None:
    a, b = digits_runs
    (da, ra), (db, rb) = _as_stored(a), _as_stored(b)
    gone = rb[-1]["sample_id"]  # skipped by B under the shift only: the id sets stay equal
    rb = [r for r in rb if not (r["sample_id"] == gone and r["shift"] == "gaussian_noise")]
    for k in (1, 5):  # what B's result says when it scored 119 samples in that cell
        db["results"][1]["metrics"][f"top{k}"]["value"] = float(np.mean(
            [r[f"hit@{k}"] for r in rb if r["shift"] == "gaussian_noise"]))
    out = compare_runs(da, ra, db, rb, bootstrap=B)
    assert out["cells"][0]["n"] == 120 and out["cells"][1]["n"] == 119
    assert out["cells"][1]["notes"] == ["A - B and its test are over the 119 samples both runs scored (A scored "
                                        "120, B 119); A and B are each run's own value"]
    row = out["cells"][1]["metrics"]["top1"]
    keep = [r["sample_id"] for r in rb if r["shift"] == "gaussian_noise"]
    hits = {k: {r["sample_id"]: r["hit@1"] for r in recs if r["shift"] == "gaussian_noise"}
            for k, recs in (("a", ra), ("b", rb))}
    assert row["diff"]["value"] == pytest.approx(np.mean([hits["a"][u] for u in keep])
                                                 - np.mean([hits["b"][u] for u in keep]))
    assert row["diff"]["ci95"] is not None


def test_ocr_text_line_stats_are_paired_tested_from_the_nested_detection_state() -> None:
    """OCR: cer/wer as component metrics and the text-line COCO stats from the detection state the
    OCR metric nests (it rides along in each record), each equal to testing that state directly."""
    import dataclasses

    from capture_task import memory_task

    from gapbench.core.predictions import TextDetections
    from gapbench.core.sample import Sample
    from gapbench.scoring.coco import paired_coco_tests

    rng = np.random.default_rng(5)
    items = []
    for i in range(30):
        boxes = [[float(x), float(y), 40.0, 12.0] for x, y in rng.uniform(0, 100, (int(rng.integers(1, 4)), 2))]
        items.append(Sample(f"im{i}", np.full((160, 160, 3), i, np.uint8),
                            {"boxes": boxes, "texts": [f"w{i}{k}" for k in range(len(boxes))]}))
    task = dataclasses.replace(memory_task("cmp", "ocr-cmp", "object-detection", items),
                               metrics=(Target("gapbench.metrics.ocr:OCRMetric"),))
    refs = {int(s.input[0, 0, 0]): s.reference for s in items}

    def reader(jitter: float, drop: float):
        def read(images):
            out = []
            for img in images:
                ref = refs[int(img[0, 0, 0])]
                keep = [k for k in range(len(ref["boxes"])) if rng.random() >= drop]
                out.append(TextDetections(tuple(tuple(b + rng.normal(0, jitter) for b in ref["boxes"][k]) for k in keep),
                                          tuple(float(rng.random()) for _ in keep), (1,) * len(keep),
                                          tuple(ref["texts"][k] if rng.random() > 0.2 else "x" for k in keep)))
            return out
        return read

    a = run_task(task, reader(1.0, 0.1), cache=False, bootstrap=B, show_progress=False)
    b = run_task(task, reader(4.0, 0.3), cache=False, bootstrap=B, show_progress=False)
    out = compare_runs(*_as_stored(a), *_as_stored(b), bootstrap=B)
    cell = out["cells"][0]
    tests, _ = paired_coco_tests(*a.cells[0].states[0].detection.to_coco(),
                                 b.cells[0].states[0].detection.to_coco()[1], resamples=B)
    for name in ("AP", "AP50", "AR100"):
        assert cell["metrics"][name]["diff"]["ci95"] == list(tests[name].ci95), name
    assert cell["metrics"]["cer"]["diff"]["ci95"] is not None
    assert not [n for n in cell.get("notes", []) if "records give" in n]
