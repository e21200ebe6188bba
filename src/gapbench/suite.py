"""Suites: named lists of jobs (run a task on a model, or score files) declared in YAML.

::

    name: my-suite
    description: what it is for
    jobs:
      - name: digits                      # a run job: a task, optionally a model, limit, shifts
        run: {task: digits, model: "builtin:digits-logreg", limit: 200,
              shift: ["gaussian_noise,contrast"], severities: "1,3,5"}
        show: [top1]                      # which metrics go to the table (default: all)
      - name: wer-arctic
        score: wer                        # a score job: a scorer of `gapbench score` and its arguments
        args: {pairs: "examples:wer_pairs.jsonl", normalizer: whisper}

``examples:NAME`` names a file shipped in ``gapbench/examples``. A suite runs code (a ``python:``
model, a task's targets): treat suite files as code and never run one from an untrusted source.
``gapbench`` with no arguments runs the embedded default suite. A job that fails is reported on
its row and the suite goes on, so one bad input never loses the results already computed.
"""

from __future__ import annotations

import difflib
import inspect
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gapbench.core.run_document import ResultEntry, RunDocument, SampleRecord
from gapbench.errors import InputError

EXAMPLES_PREFIX = "examples:"
_RUN_KEYS = {"task", "model", "limit", "shift", "severities", "batch_size", "baseline"}


@dataclass
class JobOutcome:
    """One job: its run document (and records), or the one-line error that stopped it."""

    name: str
    kind: str
    show: list[str] | None = None
    document: RunDocument | None = None
    records: list[SampleRecord] = field(default_factory=list, repr=False)
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "seconds": round(self.seconds, 3)}
        if self.document is not None:
            out["run_id"] = self.document.run_id
            out["results"] = [r.to_json() for r in self.document.results]
            if self.document.summary:
                out["summary"] = self.document.summary
            if self.document.latency:
                out["latency"] = self.document.latency
        if self.error:
            out["error"] = self.error
        return out


def examples_dir() -> Path:
    return Path(str(resources.files("gapbench") / "examples"))


def suites_dir() -> Path:
    return Path(str(resources.files("gapbench") / "suites"))


def load_suite(name_or_path: str = "default") -> dict[str, Any]:
    """A suite by embedded name (``default``) or by YAML path; errors name the file and line."""
    from gapbench.core.task import read_yaml

    path = Path(name_or_path)
    if not path.suffix:
        known = sorted(p.stem for p in suites_dir().glob("*.yaml"))
        if name_or_path not in known:
            hint = difflib.get_close_matches(name_or_path, known, n=1, cutoff=0.5)
            raise InputError(None, f"suite {name_or_path!r}",
                             f"an embedded suite ({', '.join(known)}) or a suite YAML file"
                             + (f"; did you mean {hint[0]!r}?" if hint else ""))
        path = suites_dir() / f"{name_or_path}.yaml"
    spec = read_yaml(path)
    if not isinstance(spec, dict) or not isinstance(spec.get("jobs"), list):
        raise InputError(path, None, "a mapping with a 'jobs' list")
    for i, job in enumerate(spec["jobs"]):
        where = f"job {i}" + (f" ({job.get('name')!r})" if isinstance(job, dict) and job.get("name") else "")
        if not isinstance(job, dict) or "name" not in job or ("run" in job) == ("score" in job):
            raise InputError(path, where, "a mapping with 'name' and exactly one of 'run' or 'score'")
        extra = set(job) - {"name", "run", "score", "args", "show"}
        if extra:
            raise InputError(path, where, "only the keys name, run, score, args, show", sorted(extra)[0])
        if "run" in job and (not isinstance(job["run"], dict) or "task" not in job["run"]
                             or set(job["run"]) - _RUN_KEYS):
            raise InputError(path, where, f"'run' as a mapping with 'task' and any of {sorted(_RUN_KEYS)}",
                             job["run"])
        if "show" in job and not (isinstance(job["show"], list) and all(isinstance(x, str) for x in job["show"])):
            raise InputError(path, where, "'show' as a list of metric names", job["show"])
    return spec


def _resolve(value: Any) -> Any:
    """``examples:NAME`` -> the shipped file; a path that leaves the examples directory is refused."""
    if isinstance(value, str) and value.startswith(EXAMPLES_PREFIX):
        root = examples_dir().resolve()
        path = (root / value[len(EXAMPLES_PREFIX):]).resolve()
        if root not in path.parents:
            raise InputError(None, value, "a file inside gapbench's examples directory")
        return str(path)
    return value


def _score_job(job: dict[str, Any], *, bootstrap: int, seed: int) -> tuple[RunDocument, list[SampleRecord]]:
    from gapbench.score import SCORERS

    scorer = SCORERS.get(job["score"])
    args = {k: _resolve(v) for k, v in (job.get("args") or {}).items()}
    params = inspect.signature(scorer).parameters
    for key in args:
        if key not in params or key in ("bootstrap", "seed"):
            known = [p for p in params if p not in ("bootstrap", "seed", "ci")]
            hint = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            raise InputError(None, f"argument {key!r}", f"an argument of score {job['score']} ({', '.join(known)})"
                             + (f"; did you mean {hint[0]!r}?" if hint else ""))
    t0 = time.perf_counter()
    result = scorer(**args, bootstrap=bootstrap, seed=seed)
    seconds = time.perf_counter() - t0
    doc = RunDocument(task=f"score:{job['score']}", model=job["name"], kind="score",
                      results=[ResultEntry(metrics=dict(result.metrics), groups=dict(result.groups),
                                           n=len(result.records), notes=list(result.notes))],
                      latency={"scoring_seconds": seconds}, spec={"job": job, "bootstrap": bootstrap, "seed": seed})
    records = [SampleRecord(str(r.get("sample_id", i)), values={k: v for k, v in r.items() if k != "sample_id"})
               for i, r in enumerate(result.records)]
    return doc, records


def _run_job(job: dict[str, Any], *, bootstrap: int, seed: int, out: Path) -> tuple[RunDocument, list[SampleRecord]]:
    from dataclasses import replace

    from gapbench.core.run_spec import RunSpec
    from gapbench.runner.cache import default_cache_dir
    from gapbench.runner.local import run
    from gapbench.runner.sweep import parse_cells

    r = job["run"]
    shifts = r.get("shift") or []
    spec = RunSpec(task=r["task"], model=r.get("model"), limit=r.get("limit"), seed=seed, bootstrap=bootstrap,
                   cells=parse_cells([shifts] if isinstance(shifts, str) else list(shifts), r.get("severities")),
                   baseline=r.get("baseline"), **({"batch_size": r["batch_size"]} if "batch_size" in r else {}))
    spec = replace(spec, cache=str(default_cache_dir(out)))
    outcome = run(spec)
    return outcome.document, outcome.records


def _check_show(job: dict[str, Any], doc: RunDocument) -> list[str] | None:
    show = job.get("show")
    if show is None:
        return None
    known = list(doc.results[0].metrics)
    unknown = [s for s in show if s not in known]
    if unknown:
        hint = [k for k in known if k.lower() == unknown[0].lower()] or difflib.get_close_matches(
            unknown[0], known, n=1, cutoff=0.5)
        raise InputError(None, f"show: {unknown[0]!r}", f"a metric of this job ({', '.join(known)})"
                         + (f"; did you mean {hint[0]!r}?" if hint else ""))
    return list(show)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_suite(
    name_or_path: str = "default",
    *,
    out_dir: Path = Path("gapbench-out"),
    store_url: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[list[JobOutcome], Path, list[str]]:
    """Run every job; write the suite JSON; then save each run to the store.

    Returns the outcomes, the JSON path and the store problems (one line each; the JSON holds
    everything, so a store failure loses nothing).
    """
    from gapbench.core.progress import progress
    from gapbench.core.provenance import collect_provenance, new_run_id
    from gapbench.runner.local import save_to_store, write_document

    spec = load_suite(name_or_path)
    outcomes: list[JobOutcome] = []
    with progress(len(spec["jobs"]), f"suite {spec.get('name', name_or_path)}") as advance:
        for job in spec["jobs"]:
            kind = f"score:{job['score']}" if "score" in job else f"run:{job['run'].get('task')}"
            outcome = JobOutcome(job["name"], kind)
            t0 = time.perf_counter()
            try:
                fn = _score_job if "score" in job else _run_job
                kwargs: dict[str, Any] = {"bootstrap": bootstrap, "seed": seed}
                if fn is _run_job:
                    kwargs["out"] = out_dir
                doc, records = fn(job, **kwargs)
                outcome.show = _check_show(job, doc)
                doc.run_id = new_run_id()
                doc.provenance = collect_provenance(seed=seed, config=doc.spec or {})
                outcome.document, outcome.records = doc, records
            except Exception as exc:  # noqa: BLE001 - one job's failure must not lose the others
                outcome.error = _one_line(exc)
            outcome.seconds = time.perf_counter() - t0
            outcomes.append(outcome)
            advance(1)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = write_document({"suite": spec.get("name"), "seed": seed, "bootstrap": bootstrap,
                           "jobs": [o.to_json() for o in outcomes]},
                          out_dir / f"suite-{spec.get('name', 'custom')}-{stamp}.json")
    problems: list[str] = []
    for o in outcomes:
        if o.document is None:
            continue
        try:
            save_to_store(o.document, o.records, store_url, None)
        except Exception as exc:  # noqa: BLE001 - the JSON already holds the result
            problems.append(f"{o.name}: not saved to the store: {_one_line(exc)}")
            if "cannot open store" in str(exc):
                problems.append(f"the results are in the suite JSON {path}")
                break
    return outcomes, path, problems


__all__ = ["JobOutcome", "load_suite", "run_suite"]
