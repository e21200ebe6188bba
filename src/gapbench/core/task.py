"""Tasks: a dataset, the prediction type the model must produce, and the metric that scores it.

Tasks are declared in YAML (``src/gapbench/tasks/*.yaml``, plus any directory listed in
``GAPBENCH_TASKS_PATH``, ``os.pathsep``-separated)::

    name: digits
    type: image-classification
    description: scikit-learn's 8x8 handwritten digits, stratified test split
    dataset: {target: "gapbench.data.embedded:sklearn_digits", args: {split: test}}
    metric: {target: "gapbench.metrics.topk:TopKAccuracy", args: {k: [1, 5]}}
    num_classes: 10
    default_model: builtin:digits-logreg

or in Python with :func:`register_task`. ``metrics:`` (a list) declares several metrics (ASR: WER
and CER); ``extract:`` names an answer-extraction step (model text -> prediction) separate from
the adapter; ``num_classes`` lets the runner check a classifier's output width. A target is
``package.module:attr`` or ``path/to/file.py:attr`` (relative to the YAML file). Task files run
code: treat them as code, never load them from untrusted sources.

The YAML files are read on the first lookup, never at import; the targets are imported only when
a run needs them. Unknown task names are answered with the closest known names; a malformed file
gets one line naming the file and the field, and does not stop the other tasks from loading.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gapbench.core.registry import Registry, UnknownNameError, import_target
from gapbench.core.sample import Sample, UnreadableSample
from gapbench.errors import InputError

# task type -> the prediction kind (see gapbench.core.predictions) a model must produce for it
TASK_TYPES: dict[str, str] = {
    "image-classification": "class-scores",
    "asr": "transcript",
    "object-detection": "detections",
    "semantic-segmentation": "seg-mask",
    "diarization": "speaker-turns",
    "spectrogram-mcq": "choice",
}

_FIELDS = ("name", "type", "dataset", "metric", "metrics", "extract", "num_classes", "default_model",
           "description")
_REQUIRED = ("name", "type", "dataset")


@dataclass(frozen=True)
class Target:
    """A lazily imported ``"module:attr"`` callable and the keyword arguments to call it with."""

    target: str
    args: Mapping[str, Any] = field(default_factory=dict)
    base_dir: str | None = field(default=None, compare=False)  # where a relative ``file.py:attr`` is resolved

    def resolve(self) -> Any:
        """The callable itself (imported now)."""
        where, _, attr = self.target.rpartition(":")
        if where.endswith(".py"):
            from gapbench.models.python_callable import load_file_module

            path = Path(where)
            if not path.is_absolute() and self.base_dir:
                path = Path(self.base_dir) / path
            obj: Any = load_file_module(path)
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj
        return import_target(self.target)

    def build(self) -> Any:
        return self.resolve()(**dict(self.args))

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "args": dict(self.args)}


@dataclass(frozen=True)
class TaskSpec:
    """One task. ``dataset`` builds an iterable of :class:`Sample`; ``metric`` builds a fresh Metric."""

    name: str
    type: str
    dataset: Target
    metrics: tuple[Target, ...]
    default_model: str | None = None
    description: str = ""
    source: str | None = None  # the YAML file it came from, or None for Python-registered tasks
    extract: Target | None = None  # builds ``fn(text) -> prediction``
    num_classes: int | None = None

    def __post_init__(self) -> None:
        if self.type not in TASK_TYPES:
            raise ValueError(_unknown_type_message(self.type))

    @property
    def prediction_kind(self) -> str:
        return TASK_TYPES[self.type]

    def samples(self, limit: int | None = None) -> Iterator[Sample]:
        """The task's samples in their fixed order, the first ``limit`` of them if given."""
        return self.open_samples(limit)[0]

    def open_samples(self, limit: int | None = None, on_error: str = "raise"
                     ) -> tuple[Iterator[Sample | UnreadableSample], int | None]:
        """Build the dataset once: an iterator of samples and their count when known cheaply.

        An item the data set could not read (:class:`~gapbench.core.sample.UnreadableSample`) raises
        its error, or comes through as it is when ``on_error`` is not ``raise`` (the run skips it)."""
        data = self.dataset.build()
        try:
            total: int | None = len(data)
        except TypeError:
            total = None
        if limit is not None:
            total = limit if total is None else min(total, limit)
        return self._checked(data, limit, on_error), total

    def _checked(self, data: Any, limit: int | None, on_error: str = "raise") -> Iterator[Sample | UnreadableSample]:
        it: Iterator[Any] = iter(data)
        if limit is not None:
            it = itertools.islice(it, limit)
        where = self.source or f"task {self.name!r}"
        for i, item in enumerate(it):
            if isinstance(item, UnreadableSample):
                if on_error == "raise":
                    raise item.error
                yield item
                continue
            if not isinstance(item, Sample):
                raise InputError(where, f"dataset item {i}", "a gapbench Sample", type(item).__name__)
            yield item

    def make_metrics(self) -> list[Any]:
        """Fresh metric states, one per declared metric."""
        return [m.build() for m in self.metrics]

    def with_data(self, data: str | os.PathLike[str], **more: str | os.PathLike[str]) -> TaskSpec:
        """This task reading the user's data set at ``data`` (``gapbench run TASK --data PATH``), with
        any further dataset arguments (``annotations=``, ``labels=``).

        A task whose dataset target takes no such argument (an embedded data set) is refused in one
        line rather than silently ignoring the path. A dataset target with a ``metric_args``
        attribute (``fn(**dataset_args) -> dict``) also configures the metrics from the data: e.g.
        the diarization data's UEM becomes ``uem=`` of every metric whose factory takes ``uem``.
        """
        import dataclasses
        import inspect

        given = {"data": data, **more}
        params = inspect.signature(self.dataset.resolve()).parameters
        for key, value in given.items():
            if key not in params:
                what = "a task that reads a data set path (this one is embedded; see `gapbench tasks`)" \
                    if key == "data" else f"a task whose data set takes {key!r}"
                raise InputError(None, f"task {self.name!r}", what, os.fspath(value))
        args = {**self.dataset.args, **{k: os.fspath(v) for k, v in given.items()}}
        metrics = self.metrics
        hook = getattr(self.dataset.resolve(), "metric_args", None)
        extra = hook(**args) if callable(hook) else None
        if extra:
            metrics = tuple(dataclasses.replace(m, args={**m.args, **{
                k: v for k, v in extra.items() if k in inspect.signature(m.resolve()).parameters}}) for m in metrics)
        return dataclasses.replace(self, dataset=Target(self.dataset.target, args, self.dataset.base_dir),
                                   metrics=metrics)

    def generator(self) -> dict[str, str]:
        """What made the data, for the run document: the dataset target, its arguments and, when the
        target carries a ``generator`` attribute (a dict, or a zero-argument callable returning one,
        e.g. ``{"espeak-ng": "1.51"}``), the versions it names."""
        out = {"dataset": self.dataset.target, **{k: str(v) for k, v in self.dataset.args.items()}}
        extra = getattr(self.dataset.resolve(), "generator", None)
        extra = extra() if callable(extra) else extra
        if isinstance(extra, Mapping):
            out.update({str(k): str(v) for k, v in extra.items()})
        return out

    def make_extractor(self) -> Any:
        """The answer-extraction callable, or None when the adapter's response is the prediction."""
        return None if self.extract is None else self.extract.build()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "dataset": self.dataset.to_json(),
            "metrics": [m.to_json() for m in self.metrics],
            "extract": self.extract.to_json() if self.extract else None,
            "num_classes": self.num_classes,
            "default_model": self.default_model,
            "description": self.description,
        }


def _unknown_type_message(kind: str) -> str:
    import difflib

    hint = difflib.get_close_matches(str(kind), TASK_TYPES, n=1, cutoff=0.5)
    msg = f"a task type ({', '.join(TASK_TYPES)})"
    return msg + (f"; did you mean {hint[0]!r}?" if hint else "")


# ---------------------------------------------------------------------------------------------
# YAML


def _target(file: str, key: str, value: Any) -> Target:
    if isinstance(value, str):  # shorthand: `metric: "module:attr"`
        value = {"target": value}
    if not isinstance(value, Mapping):
        raise InputError(file, f"field {key!r}", "a mapping with 'target' and optional 'args'", value)
    extra = set(value) - {"target", "args"}
    if extra:
        raise InputError(file, f"field '{key}.{sorted(extra)[0]}'", "only 'target' and 'args'")
    tgt = value.get("target")
    ok = isinstance(tgt, str) and all(tgt.rpartition(":")[::2]) and (
        tgt.count(":") == 1 or tgt.rpartition(":")[0].endswith(".py"))
    if not ok:
        raise InputError(file, f"field '{key}.target'", "a 'package.module:attr' or 'file.py:attr' string", tgt)
    args = value.get("args") or {}
    if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
        raise InputError(file, f"field '{key}.args'", "a mapping of keyword arguments", args)
    base = str(Path(file).parent) if file and not file.startswith("<") else None
    return Target(tgt, dict(args), base)


def task_from_mapping(data: Any, file: str = "<task>") -> TaskSpec:
    """Validate a parsed YAML document and build the TaskSpec (errors name the file and field)."""
    import difflib

    if not isinstance(data, Mapping):
        raise InputError(file, None, "a YAML mapping with fields " + ", ".join(_FIELDS), type(data).__name__)
    for key in data:
        if key not in _FIELDS:
            hint = difflib.get_close_matches(str(key), _FIELDS, n=1, cutoff=0.5)
            exp = f"one of {', '.join(_FIELDS)}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            raise InputError(file, f"field {key!r}", exp)
    for key in _REQUIRED:
        if key not in data:
            raise InputError(file, f"field {key!r}", "this required field to be present")
    for key in ("name", "type", "default_model", "description"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise InputError(file, f"field {key!r}", "a string", data[key])
    name = data["name"]
    if not name or any(c.isspace() for c in name):
        raise InputError(file, "field 'name'", "a non-empty name without spaces", name)
    if data["type"] not in TASK_TYPES:
        raise InputError(file, "field 'type'", _unknown_type_message(data["type"]), data["type"])
    default_model = data.get("default_model")
    if default_model is not None and ":" not in default_model:
        raise InputError(file, "field 'default_model'", "a model URI 'scheme:name'", default_model)
    if ("metric" in data) == ("metrics" in data):
        raise InputError(file, "field 'metric'", "exactly one of 'metric' or 'metrics' (a list)")
    if "metric" in data:
        metrics = (_target(file, "metric", data["metric"]),)
    else:
        items = data["metrics"]
        if not isinstance(items, list) or not items:
            raise InputError(file, "field 'metrics'", "a non-empty list of metric targets", items)
        metrics = tuple(_target(file, f"metrics[{i}]", m) for i, m in enumerate(items))
    num_classes = data.get("num_classes")
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                    or num_classes < 1):
        raise InputError(file, "field 'num_classes'", "a positive integer", num_classes)
    return TaskSpec(
        name=name,
        type=data["type"],
        dataset=_target(file, "dataset", data["dataset"]),
        metrics=metrics,
        default_model=default_model,
        description=(data.get("description") or "").strip(),
        source=file,
        extract=_target(file, "extract", data["extract"]) if data.get("extract") is not None else None,
        num_classes=num_classes,
    )


def load_task_file(path: str | os.PathLike[str]) -> TaskSpec:
    """Read and validate one task YAML file."""
    return task_from_mapping(read_yaml(path), str(path))


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file (UTF-8, a byte-order mark allowed); errors name the file and the line."""
    import yaml

    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(str(path), line, "UTF-8 text", f"byte 0x{raw[exc.start]:02x}") from None
    try:
        # libyaml's parser when PyYAML has it (same SafeLoader constructors; ~10x faster: every task
        # file is read at the first lookup, a cost each gapbench process pays)
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(str(path), where, f"valid YAML ({problem})") from None


# ---------------------------------------------------------------------------------------------
# registry


class TaskRegistry:
    """Task name -> TaskSpec. YAML directories are scanned on the first lookup, not at import."""

    def __init__(self) -> None:
        self._reg: Registry[TaskSpec] = Registry("task")
        self._scanned = False
        self.errors: list[str] = []  # one line per task file that could not be loaded

    def task_dirs(self) -> list[Path]:
        dirs: list[Path] = [Path(str(resources.files("gapbench").joinpath("tasks")))]
        extra = os.environ.get("GAPBENCH_TASKS_PATH", "")
        dirs += [Path(p) for p in extra.split(os.pathsep) if p]
        return dirs

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for d in self.task_dirs():
            if not d.is_dir():
                continue
            for path in sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")):
                try:
                    spec = load_task_file(path)
                except (InputError, OSError) as exc:  # one bad file must not hide the others
                    self.errors.append(str(exc).splitlines()[0])
                    continue
                if spec.name in self._reg:
                    prev = self._reg.get(spec.name)
                    if prev.source != spec.source:
                        self.errors.append(InputError(
                            str(path), "field 'name'", f"a task name not already defined in {prev.source}",
                            spec.name).one_line())
                    continue
                self._reg.register(spec.name, spec)

    def register(self, spec: TaskSpec, *, overwrite: bool = False) -> TaskSpec:
        self._scan()
        self._reg.register(spec.name, spec, overwrite=overwrite)
        return spec

    def get(self, name: str) -> TaskSpec:
        """A task by name, or by path to a YAML file."""
        if name.endswith((".yaml", ".yml")) and Path(name).is_file():
            return load_task_file(name)
        dirs = [] if self._scanned else self.task_dirs()
        if len(dirs) == 1:
            # no user task directories: a shipped task's file is named after it (a test checks), so
            # reading that one file gives what the scan would, without parsing every task file
            # (~70 ms of a run's start-up)
            path = dirs[0] / f"{name}.yaml"
            if path.is_file():
                spec = load_task_file(path)
                if spec.name == name:
                    return spec
        self._scan()
        try:
            return self._reg.get(name)
        except UnknownNameError as exc:
            if self.errors:
                raise UnknownNameError(f"{exc}; task files that failed to load: {'; '.join(self.errors)}") \
                    from None
            raise

    def names(self) -> list[str]:
        self._scan()
        return self._reg.names()

    def __contains__(self, name: object) -> bool:
        self._scan()
        return name in self._reg

    def all(self) -> list[TaskSpec]:
        return [self.get(n) for n in self.names()]

    def reset(self) -> None:
        """Forget everything (tests; after changing GAPBENCH_TASKS_PATH)."""
        self._reg = Registry("task")
        self._scanned = False
        self.errors = []


TASKS = TaskRegistry()


def register_task(spec: TaskSpec, *, overwrite: bool = False) -> TaskSpec:
    """The Python escape hatch: register a task built in code."""
    return TASKS.register(spec, overwrite=overwrite)


def get_task(task: str | TaskSpec) -> TaskSpec:
    return task if isinstance(task, TaskSpec) else TASKS.get(task)


def list_tasks() -> list[TaskSpec]:
    return TASKS.all()


__all__ = [
    "TASK_TYPES", "Target", "TaskSpec", "TaskRegistry", "TASKS", "UnknownNameError",
    "register_task", "get_task", "list_tasks", "load_task_file", "task_from_mapping",
]


def parse_data_options(items: list[str] | None) -> dict[str, str]:
    """``--data-option KEY=VALUE`` (repeatable) -> keyword arguments for :meth:`TaskSpec.with_data`;
    a key the task's data set does not take is refused there, in one line."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier() or key in ("data", "annotations", "labels", "uem"):
            raise InputError(None, "--data-option", "KEY=VALUE with KEY a data set option (not data/annotations/"
                             "labels/uem, which have their own flags)", item)
        out[key] = value
    return out
