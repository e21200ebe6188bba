"""Task registry: YAML loading (lazy), validation errors naming file and field, did-you-mean."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gapbench.core.registry import UnknownNameError
from gapbench.core.sample import Sample
from gapbench.core.task import (
    TASKS,
    Target,
    TaskRegistry,
    TaskSpec,
    get_task,
    list_tasks,
    load_task_file,
    register_task,
)
from gapbench.errors import InputError

GOOD = """\
name: tiny
type: image-classification
description: a tiny task
dataset: {target: "gapbench.data.embedded:sklearn_digits", args: {split: test}}
metric: {target: "gapbench.metrics.topk:TopKAccuracy", args: {k: [1, 5]}}
default_model: builtin:digits-logreg
"""


@pytest.fixture
def fresh_tasks():
    TASKS.reset()
    yield TASKS
    TASKS.reset()


def test_digits_yaml_is_registered(fresh_tasks):
    spec = get_task("digits")
    assert spec.type == "image-classification"
    assert spec.prediction_kind == "class-scores"
    assert spec.dataset == Target("gapbench.data.embedded:sklearn_digits", {"split": "test"})
    assert [m.target for m in spec.metrics] == ["gapbench.metrics.topk:TopKAccuracy"]
    assert spec.metrics[0].args == {"k": [1, 5]} and spec.num_classes == 10
    assert spec.default_model == "builtin:digits-logreg"
    assert spec.source and spec.source.endswith("digits.yaml")
    assert "digits" in [t.name for t in list_tasks()]


def test_yaml_is_read_on_first_lookup_not_at_import():
    code = ("import gapbench.core.task as t, sys; assert not t.TASKS._scanned; "
            "assert 'yaml' not in sys.modules; t.get_task('digits'); assert 'yaml' in sys.modules; "
            # a shipped task is read from its own file; the other files are parsed when a listing needs them
            "assert not t.TASKS._scanned; assert 'digits' in t.TASKS.names() and t.TASKS._scanned; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_unknown_task_suggests_near_names(fresh_tasks):
    with pytest.raises(UnknownNameError) as ei:
        get_task("digit")
    assert "did you mean 'digits'" in str(ei.value)


def test_extra_task_dirs_from_env(tmp_path, monkeypatch):
    (tmp_path / "tiny.yaml").write_text(GOOD)
    monkeypatch.setenv("GAPBENCH_TASKS_PATH", str(tmp_path))
    reg = TaskRegistry()
    assert {"digits", "tiny"} <= set(reg.names())
    spec = reg.get("tiny")
    assert spec.description == "a tiny task"
    assert spec.source == str(tmp_path / "tiny.yaml")


def test_task_by_yaml_path(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(GOOD)
    assert get_task(str(path)).name == "tiny"


def test_duplicate_task_name_across_files_is_reported_and_the_first_kept(tmp_path, monkeypatch):
    (tmp_path / "other.yaml").write_text(GOOD.replace("name: tiny", "name: digits"))
    monkeypatch.setenv("GAPBENCH_TASKS_PATH", str(tmp_path))
    reg = TaskRegistry()
    assert reg.get("digits").source.endswith("tasks/digits.yaml")
    assert any(re.search(r"other\.yaml: field 'name': expected a task name not already", e) for e in reg.errors)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (GOOD.replace("type: image-classification", "type: image-clasification"),
         r"field 'type': expected a task type .*did you mean 'image-classification'"),
        (GOOD.replace("metric:", "metirc:"), r"field 'metirc': expected one of .*did you mean 'metric'"),
        (GOOD.replace("metric:", "metrics:"), r"field 'metrics': expected a non-empty list of metric targets"),
        (GOOD + "metrics: [gapbench.metrics.wer:WERMetric]\n", r"exactly one of 'metric' or 'metrics'"),
        (GOOD + "num_classes: 0\n", r"field 'num_classes': expected a positive integer"),
        ("\n".join(line for line in GOOD.splitlines() if not line.startswith("dataset")),
         r"field 'dataset': expected this required field"),
        (GOOD.replace('"gapbench.data.embedded:sklearn_digits"', '"gapbench.data.embedded.sklearn_digits"'),
         r"field 'dataset.target': expected a 'package.module:attr' or 'file.py:attr' string"),
        (GOOD.replace("args: {split: test}", "args: [test]"), r"field 'dataset.args': expected a mapping"),
        (GOOD.replace("args: {k: [1, 5]}", "arguments: {k: [1, 5]}"),
         r"field 'metric.arguments': expected only 'target' and 'args'"),
        (GOOD.replace("name: tiny", "name: [tiny]"), r"field 'name': expected a string"),
        (GOOD.replace("default_model: builtin:digits-logreg", "default_model: digits-logreg"),
         r"field 'default_model': expected a model URI"),
        ("- just\n- a list\n", r"expected a YAML mapping"),
        ("name: tiny\ntype: [unclosed\n", r"line \d+: expected valid YAML"),
    ],
)
def test_bad_yaml_names_file_and_field(tmp_path, text, pattern):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as ei:
        load_task_file(path)
    msg = str(ei.value)
    assert msg.startswith(str(path))
    assert len(msg.splitlines()) == 1
    import re

    assert re.search(pattern, msg), msg


def test_bad_yaml_in_task_dir_is_reported_and_the_rest_load(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text(GOOD.replace("type: image-classification", "type: 3"))
    (tmp_path / "latin1.yaml").write_bytes(GOOD.replace("tiny", "caf\xe9").encode("latin-1"))
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("tiny", "bom-task").encode())
    monkeypatch.setenv("GAPBENCH_TASKS_PATH", str(tmp_path))
    reg = TaskRegistry()
    assert reg.get("digits").name == "digits"  # the built-in task still loads
    assert reg.get("bom-task").name == "bom-task"  # a byte-order mark is fine
    assert any(re.search(r"broken\.yaml: field 'type'", e) for e in reg.errors)
    assert any(re.search(r"latin1\.yaml: line 1: expected UTF-8 text", e) for e in reg.errors)
    with pytest.raises(UnknownNameError, match=r"broken\.yaml"):  # a lookup that fails names them
        reg.get("tiny")


def test_file_py_targets_resolve_next_to_the_yaml(tmp_path):
    (tmp_path / "my_data.py").write_text("from gapbench.core.sample import Sample\n"
                                         "def three():\n    return [Sample(str(i), i, i) for i in range(3)]\n")
    (tmp_path / "t.yaml").write_text(GOOD.replace('"gapbench.data.embedded:sklearn_digits"', '"my_data.py:three"')
                                     .replace("args: {split: test}", "args: {}"))
    spec = load_task_file(tmp_path / "t.yaml")
    assert [s.id for s in spec.samples()] == ["0", "1", "2"]


def _three_samples():
    return [Sample(f"s{i}", i, i) for i in range(3)]


def test_register_task_python_escape_hatch(fresh_tasks):
    spec = TaskSpec(
        name="py-task", type="asr",
        dataset=Target(f"{__name__}:_three_samples"),
        metrics=(Target("gapbench.metrics.wer:WERMetric"),),
    )
    register_task(spec)
    assert get_task("py-task") is spec
    assert "py-task" in TASKS and "digits" in TASKS
    with pytest.raises(ValueError, match="already registered"):
        register_task(spec)
    register_task(spec, overwrite=True)
    it, total = spec.open_samples(limit=2)
    assert total == 2
    assert [s.id for s in it] == ["s0", "s1"]


def test_taskspec_rejects_unknown_type():
    with pytest.raises(ValueError, match="did you mean 'asr'"):
        TaskSpec(name="x", type="asrr", dataset=Target("a:b"), metrics=(Target("a:b"),))


def _ints():
    return [1, 2, 3]


def test_dataset_items_must_be_samples():
    spec = TaskSpec(name="x", type="asr", dataset=Target(f"{__name__}:_ints"), metrics=(Target("a:b"),))
    with pytest.raises(InputError, match=r"task 'x': dataset item 0: expected a gapbench Sample, got 'int'"):
        list(spec.samples())


def test_shipped_task_files_all_validate():
    root = Path(__file__).resolve().parents[2] / "src" / "gapbench" / "tasks"
    files = sorted(root.glob("*.yaml"))
    assert files
    for f in files:
        assert load_task_file(f).name == f.stem
