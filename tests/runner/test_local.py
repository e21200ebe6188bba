"""The local runner: equals a plain loop, resumes from the response cache after a crash, reports
bad model output in one line, and never re-runs the model to re-score."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gapbench.core.metric import Metric
from gapbench.core.predictions import ClassScores
from gapbench.core.registry import UnknownNameError
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.core.task import Target, TaskSpec, get_task
from gapbench.errors import InputError, ModelError
from gapbench.runner.cache import ResponseCache
from gapbench.runner.local import run_task
from gapbench.runner.sweep import parse_cells
from gapbench.shifts.registry import sample_seed


class Top1(Metric):
    """Accuracy with per-sample records, written here so the runner is tested on its own."""

    name = "top1"

    def __init__(self) -> None:
        self.hits: list[int] = []
        self.ids: list[str] = []
        self.preds: list[tuple[float, ...]] = []

    def update(self, predictions, references, ids=None):
        for p, r in zip(predictions, references):
            assert isinstance(p, ClassScores)
            self.hits.append(int(np.argmax(p.scores) == r))
            self.preds.append(p.scores)
        self.ids += list(ids)

    def merge(self, other):
        self.hits += other.hits
        self.ids += other.ids
        return self

    def compute(self, *, bootstrap=1000, seed=0, ci=True):
        recs = [{"sample_id": i, "hit": h} for i, h in zip(self.ids, self.hits)]
        return ScoreResult("top1", {"top1": MetricValue(float(np.mean(self.hits)))}, records=recs)


def digits_task(metric_target: str = "gapbench.metrics.topk:TopKAccuracy") -> TaskSpec:
    return TaskSpec(name="digits-test", type="image-classification",
                    dataset=Target("gapbench.data.embedded:sklearn_digits", {"split": "test"}),
                    metrics=(Target(metric_target, {"k": [1, 5]}),), num_classes=10)


class Counting:
    """A batch callable that counts what it is asked and can crash after some batches."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.batches: list[int] = []

    def __call__(self, batch):
        if self.crash_after is not None and len(self.batches) >= self.crash_after:
            raise RuntimeError("model crashed")
        self.batches.append(len(batch))
        # a deterministic "model": scores from the image's row sums
        return [np.asarray(x, dtype=float).sum(axis=1)[:8].tolist() + [0.5, 0.25] for x in batch]


@pytest.fixture(scope="module")
def digits_model():
    from gapbench.models.registry import load_model

    return load_model("builtin:digits-logreg")


def test_runner_equals_plain_loop(digits_model):
    from gapbench.data.embedded import sklearn_digits

    samples = sklearn_digits("test")[:100]
    expected = []
    for s in samples:  # the plain loop: one sample at a time, no threads, no cache
        raw = digits_model.predict([digits_model.preprocess(s.input)])[0]
        expected.append(int(np.argmax(raw) == s.reference))
    for workers, batch_size in ((0, 1), (2, 32), (3, 7)):
        m = Top1()
        res = run_task(digits_task(), digits_model, metric=m, limit=100, cache=False,
                       workers=workers, batch_size=batch_size)
        assert m.ids == [s.id for s in samples]
        assert m.hits == expected
        assert res.metrics["top1"].value == pytest.approx(np.mean(expected))
        assert [r.sample_id for r in res.records] == m.ids
        assert [r.values["hit"] for r in res.records] == expected  # metric records joined by sample_id
        assert len(res.records) == 100 and res.clean.n_computed == 100 and res.clean.n_cached == 0


def test_limit_and_records(digits_model):
    res = run_task(digits_task(), digits_model, metric=Top1(), limit=10, cache=False, batch_size=4)
    assert len(res.records) == 10
    rec = res.records[0].to_json()
    assert {"sample_id", "sample_key", "shift", "severity", "cached", "latency_s", "meta"} <= set(rec)
    assert rec["shift"] == "none" and rec["severity"] is None and rec["latency_s"] > 0
    assert rec["meta"] == {"index": int(rec["sample_id"].split("-")[1])}  # the sample's metadata rides along
    lat = res.clean.latency
    assert lat.warmup_samples_dropped == 4 and lat.measured_samples == 6
    doc = res.document.to_json()
    assert {"run_id", "kind", "task", "model", "dataset", "results", "latency", "spec", "provenance"} <= set(doc)
    assert doc["results"][0]["shift"] == "none" and doc["results"][0]["params"] == {}
    assert "top1" in doc["results"][0]["metrics"] and doc["results"][0]["n"] == 10
    assert doc["dataset"]["n_samples"] == 10 and len(doc["dataset"]["fingerprint"]) == 64
    assert set(doc["latency"]["stages"]) == {"decode", "shift", "preprocess", "inference", "postprocess",
                                             "transport"}


def test_crash_resume_recomputes_only_missing(tmp_path):
    cache = tmp_path / "cache"
    n, bs = 200, 20
    clean = run_task(digits_task(), Counting(), limit=n, batch_size=bs, cache=False)

    crashing = Counting(crash_after=3)
    with pytest.raises(RuntimeError, match="model crashed"):
        run_task(digits_task(), crashing, limit=n, batch_size=bs, cache=cache, workers=2)
    assert crashing.batches == [bs] * 3
    with ResponseCache(cache) as rc:
        assert rc.count() == 3 * bs  # committed per batch: everything computed before the crash

    crashing.crash_after = None  # same callable, same fingerprint: resume
    crashing.batches.clear()
    resumed = run_task(digits_task(), crashing, limit=n, batch_size=bs, cache=cache)
    assert sum(crashing.batches) == n - 3 * bs  # the model saw only the missing samples
    assert resumed.clean.n_cached == 3 * bs and resumed.clean.n_computed == n - 3 * bs
    assert resumed.clean.score.to_json() == clean.clean.score.to_json()

    # re-scoring (new bootstrap seed, no CI) never calls the model
    crashing.batches.clear()
    rescored = run_task(digits_task(), crashing, limit=n, batch_size=bs, cache=cache, seed=7, ci=False)
    assert crashing.batches == []
    assert rescored.clean.n_cached == n and rescored.metrics["top1"].value == clean.metrics["top1"].value
    lat = rescored.clean.latency  # the latency of the run that computed the samples, marked as such
    assert lat.from_cache and lat.measured_samples > 0 and lat.throughput is None
    assert any("stored by the run that computed them" in note for note in lat.notes)


KILLABLE = textwrap.dedent("""
    import os, pathlib, time
    import numpy as np

    def model(batch):
        log = pathlib.Path(os.environ["GB_TEST_LOG"])
        with log.open("a") as f:
            f.write(f"{len(batch)}\\n")
        stall = int(os.environ.get("GB_TEST_STALL_AT", "0"))
        if stall and len(log.read_text().split()) >= stall:
            pathlib.Path(os.environ["GB_TEST_MARK"]).touch()
            time.sleep(120)  # killed here, mid-batch
        return [np.eye(10)[int(np.asarray(x).sum()) % 10] for x in batch]
""")


def test_sigkill_midway_then_resume(tmp_path, monkeypatch):
    model_file = tmp_path / "killable.py"
    model_file.write_text(KILLABLE)
    uri = f"python:{model_file}:model"
    cache = tmp_path / "cache"
    log, mark = tmp_path / "calls.log", tmp_path / "stalled"
    n, bs = 200, 20
    code = (f"from gapbench.runner.local import run_task; "
            f"run_task('digits', {uri!r}, limit={n}, batch_size={bs}, cache={str(cache)!r})")
    env = dict(os.environ, GB_TEST_LOG=str(log), GB_TEST_MARK=str(mark), GB_TEST_STALL_AT="4",
               GAPBENCH_NO_PROGRESS="1")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not mark.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the subprocess never reached batch 4"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with ResponseCache(cache) as rc:
        assert rc.count() == 3 * bs  # batches 1-3 committed; batch 4 died in predict

    log.write_text("")
    monkeypatch.setenv("GB_TEST_LOG", str(log))
    monkeypatch.setenv("GB_TEST_MARK", str(mark))
    monkeypatch.delenv("GB_TEST_STALL_AT", raising=False)
    task = get_task("digits")
    resumed = run_task(task, uri, limit=n, batch_size=bs, cache=cache)
    assert sum(int(x) for x in log.read_text().split()) == n - 3 * bs
    clean = run_task(task, uri, limit=n, batch_size=bs, cache=False)
    assert resumed.clean.score.to_json() == clean.clean.score.to_json()


def test_wrong_count_is_one_line_and_keeps_earlier_batches(tmp_path):
    calls = []

    def short(batch):
        calls.append(len(batch))
        out = [[0.0] * 10 for _ in batch]
        return out if len(calls) < 3 else out[:-1]

    with pytest.raises(ModelError) as ei:
        run_task(digits_task(), short, limit=100, batch_size=10, cache=tmp_path / "c", metric=Top1())
    msg = str(ei.value)
    assert len(msg.splitlines()) == 1
    assert "short" in msg and "batch starting at sample digits-" in msg
    assert msg.endswith("expected 10 outputs (one per input), got 9 outputs")
    with ResponseCache(tmp_path / "c") as rc:
        assert rc.count() == 20


def test_wrong_type_names_model_and_sample(tmp_path):
    def words(batch):
        return ["seven" for _ in batch]

    with pytest.raises(ModelError) as ei:
        run_task(digits_task(), words, limit=5, cache=False, metric=Top1())
    msg = str(ei.value)
    assert "words: sample digits-" in msg
    assert "expected 10 class scores (a 1-D sequence of numbers, one per class), got 'seven'" in msg

    def nine(batch):  # a 10-class task: the model's output is blamed, not the label
        return [[0.1] * 9 for _ in batch]

    with pytest.raises(ModelError, match=r"nine: sample digits-\d+: expected 10 class scores.*got '9 scores'"):
        run_task(digits_task(), nine, limit=5, cache=False, metric=Top1())

    def scalar(batch):
        return 3

    with pytest.raises(ModelError, match="expected 5 outputs \\(one per input\\), got int"):
        run_task(digits_task(), scalar, limit=5, cache=False, metric=Top1())


def test_unknown_shift_and_bad_arguments(digits_model):
    with pytest.raises(UnknownNameError, match=r"unknown shift 'gausian_noise'; did you mean 'gaussian_noise'"):
        run_task(digits_task(), digits_model, cells=parse_cells(["gausian_noise"]), cache=False)
    for bad in (dict(batch_size=0), dict(limit=0), dict(seed=-1), dict(workers=-3), dict(bootstrap=0)):
        with pytest.raises(InputError):
            run_task(digits_task(), digits_model, cache=False, **bad)


def test_shift_cells_and_cache_key(tmp_path):
    cache = tmp_path / "c"
    model = Counting()
    cells = parse_cells(["contrast"], "1,5")
    res = run_task(digits_task(), model, metric=Top1(), limit=20, cache=cache, cells=cells)
    assert sum(model.batches) == 60  # clean once, then each cell: a shifted input is a new cache entry
    assert [(c.cell.shift, c.cell.severity) for c in res.cells] == [("none", None), ("contrast", 1), ("contrast", 5)]
    assert res.cells[2].records[0].shift == "contrast" and res.cells[2].records[0].severity == 5
    run_task(digits_task(), model, metric=Top1(), limit=20, cache=cache, cells=cells)
    assert sum(model.batches) == 60  # everything cached per (shift, params, seed)
    run_task(digits_task(), model, metric=Top1(), limit=20, cache=cache, cells=cells, seed=1)
    assert sum(model.batches) == 100  # the seed changes shifted inputs (not the clean ones)
    assert sample_seed(0, "abc") == sample_seed(0, "abc") != sample_seed(1, "abc")


def test_task_type_mismatch(digits_model):
    asr = TaskSpec(name="asr-x", type="asr", dataset=Target("gapbench.data.embedded:sklearn_digits"),
                   metrics=(Target("gapbench.metrics.wer:WERMetric"),))
    with pytest.raises(InputError, match="builtin:digits-logreg: expected a task of type image-classification"):
        run_task(asr, digits_model, cache=False)


def test_default_cache_dir_from_env(tmp_path, monkeypatch, digits_model):
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(tmp_path / "uc"))
    res = run_task(digits_task(), digits_model, metric=Top1(), limit=8)
    assert res.cache_path == str(tmp_path / "uc" / "responses.sqlite")
    again = run_task(digits_task(), digits_model, metric=Top1(), limit=8)
    assert again.clean.n_cached == 8 and again.metrics == res.metrics


def test_run_and_save_writes_file_and_store(tmp_path):
    from gapbench.core.run_spec import RunSpec
    from gapbench.runner.local import run_and_save
    from gapbench.store import open_store

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    outcome, path = run_and_save(RunSpec("digits", limit=12, seed=3, bootstrap=20), store_url=url,
                                 out_dir=tmp_path / "out")
    doc = outcome.document.to_json()
    assert doc["model"] == "builtin:digits-logreg" and doc["provenance"]["seed"] == 3
    assert path == tmp_path / "out" / f"{doc['run_id']}.json" and path.is_file()
    assert (tmp_path / "out" / "cache" / "responses.sqlite").is_file()
    with open_store(url) as st:
        assert st.get_run(doc["run_id"])["task"] == "digits"
        assert len(st.get_records(doc["run_id"])) == 12
