"""Metrics a run adds to its task's own: ``gapbench run TASK --metric NAME`` (``RunSpec.options["metrics"]``).

A task's YAML lists the metrics every run of it reports; a metric that needs an optional extra
(SemDist loads a sentence-embedding model from ``gapbench[semdist]``) is added per run instead, so a
task never fails for a package the user did not ask for. Each name says which task types it fits
and how it takes its settings from the task (SemDist uses the normaliser of the task's WER metric,
so both read the same transcripts).
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from gapbench.core.task import Target, TaskSpec
from gapbench.errors import InputError

# name -> (task types, metric target, what it is)
ADDABLE: dict[str, tuple[tuple[str, ...], str, str]] = {
    "semdist": (("asr",), "gapbench.metrics.semdist:SemDistMetric",
                "semantic distance of transcripts (1 - cosine of sentence embeddings; needs gapbench[semdist])"),
}


def _task_normalizer(task: TaskSpec) -> str | None:
    for m in task.metrics:
        if m.target.endswith("wer:WERMetric") and "normalizer" in m.args:
            return str(m.args["normalizer"])
    return None


def added_targets(task: TaskSpec, names: Sequence[str]) -> list[Target]:
    """The metric targets for ``names`` on ``task`` (one InputError for an unknown or unfit name)."""
    if isinstance(names, str):  # "semdist" or "semdist,other" from a hand-written RunSpec
        names = names.split(",")
    out: list[Target] = []
    for name in dict.fromkeys(str(n).strip().lower() for n in names):
        if name not in ADDABLE:
            near = difflib.get_close_matches(name, list(ADDABLE), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputError(None, "--metric", "one of " + ", ".join(ADDABLE) + hint, name)
        types, target, _ = ADDABLE[name]
        if task.type not in types:
            raise InputError(None, f"--metric {name}", f"a task of type {' or '.join(types)}",
                             f"{task.name} ({task.type})")
        args: dict[str, Any] = {}
        if name == "semdist" and _task_normalizer(task) is not None:
            args["normalizer"] = _task_normalizer(task)
        out.append(Target(target, args))
    return out


def with_added(make_metrics: Callable[[], list[Any]], task: TaskSpec, names: Sequence[str]
               ) -> Callable[[], list[Any]]:
    """A metric factory: the task's fresh metrics, then the added ones."""
    targets = added_targets(task, names)

    def factory() -> list[Any]:
        return list(make_metrics()) + [t.build() for t in targets]

    return factory
