"""Suites: named lists of jobs (run a task on a model, or score files) declared in YAML.

``gapbench`` with no arguments runs the embedded default suite. A job that fails is reported
and the suite goes on, so one bad input never loses the results already computed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gapbench.core.results import MetricValue
from gapbench.errors import InputError

EXAMPLES_PREFIX = "examples:"


@dataclass
class JobOutcome:
    """One job's headline numbers, or the one-line error that stopped it."""

    name: str
    kind: str
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}


def examples_dir() -> Path:
    return Path(str(resources.files("gapbench") / "examples"))


def load_suite(name_or_path: str = "default") -> dict[str, Any]:
    """A suite by embedded name (``default``) or by YAML path."""
    import yaml

    path = Path(name_or_path)
    if not path.suffix:
        path = Path(str(resources.files("gapbench") / "suites" / f"{name_or_path}.yaml"))
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(path, None, "valid YAML", str(exc).splitlines()[0]) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("jobs"), list):
        raise InputError(path, None, "a mapping with a 'jobs' list")
    for i, job in enumerate(spec["jobs"]):
        if not isinstance(job, dict) or "name" not in job or ("run" in job) == ("score" in job):
            raise InputError(path, f"job {i}", "a mapping with 'name' and exactly one of 'run' or 'score'")
    return spec


def _resolve(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(EXAMPLES_PREFIX):
        return str(examples_dir() / value[len(EXAMPLES_PREFIX) :])
    return value


def _score_job(job: dict[str, Any], *, bootstrap: int, seed: int, store: Any) -> JobOutcome:
    from gapbench.core.provenance import collect_provenance, new_run_id
    from gapbench.score import SCORERS

    args = {k: _resolve(v) for k, v in job.get("args", {}).items()}
    t0 = time.perf_counter()
    result = SCORERS.get(job["score"])(**args, bootstrap=bootstrap, seed=seed)
    seconds = time.perf_counter() - t0
    metrics = {k: v.to_json() for k, v in result.metrics.items()}
    run = {
        "task": f"score:{job['score']}",
        "model": job["name"],
        "results": [{"shift": "none", "severity": None, "metrics": metrics}],
        "latency": {"scoring_seconds": seconds},
        "provenance": collect_provenance(seed=seed, config={"job": job, "bootstrap": bootstrap}),
    }
    records = [
        {"sample_id": str(r.get("id", i)), "shift": "none", "severity": None, **r}
        for i, r in enumerate(result.records)
    ]
    run["run_id"] = new_run_id()
    run_id = store.save_run(run, records) if store is not None else None
    return JobOutcome(job["name"], run["task"], metrics, list(result.notes), run_id, seconds=seconds)


def _run_job(
    job: dict[str, Any], *, bootstrap: int, seed: int, store_url: str | None, out: Path
) -> JobOutcome:
    from gapbench.runner.local import run_to_json

    spec = job["run"]
    t0 = time.perf_counter()
    run = run_to_json(
        spec["task"],
        spec.get("model"),
        limit=spec.get("limit"),
        seed=seed,
        bootstrap=bootstrap,
        store_url=store_url,
        out_dir=out,
    )
    metrics = run["results"][0]["metrics"]
    return JobOutcome(
        job["name"], f"run:{spec['task']}", metrics, [], run["run_id"], seconds=time.perf_counter() - t0
    )


def run_suite(
    name_or_path: str = "default",
    *,
    out_dir: Path = Path("gapbench-out"),
    store_url: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[list[JobOutcome], Path]:
    """Run every job of a suite; return the outcomes and the JSON file they were written to."""
    spec = load_suite(name_or_path)
    from gapbench.core.progress import progress
    from gapbench.store import open_store

    out_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(store_url)
    outcomes: list[JobOutcome] = []
    try:
        with progress(len(spec["jobs"]), f"suite {spec.get('name', name_or_path)}") as advance:
            for job in spec["jobs"]:
                t0 = time.perf_counter()
                try:
                    if "score" in job:
                        outcome = _score_job(job, bootstrap=bootstrap, seed=seed, store=store)
                    else:
                        outcome = _run_job(
                            job, bootstrap=bootstrap, seed=seed, store_url=store_url, out=out_dir
                        )
                except Exception as exc:  # noqa: BLE001 - one job's failure must not lose the others
                    kind = f"score:{job['score']}" if "score" in job else f"run:{job['run'].get('task')}"
                    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    outcome = JobOutcome(job["name"], kind, error=message, seconds=time.perf_counter() - t0)
                outcome.metrics = {
                    k: v for k, v in outcome.metrics.items() if k in job.get("show", outcome.metrics)
                }
                outcomes.append(outcome)
                advance(1)
    finally:
        store.close()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = out_dir / f"suite-{spec.get('name', 'custom')}-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "suite": spec.get("name"),
                "seed": seed,
                "bootstrap": bootstrap,
                "jobs": [o.to_json() for o in outcomes],
            },
            indent=2,
        )
        + "\n"
    )
    return outcomes, path


def suite_table(outcomes: list[JobOutcome], title: str) -> Any:
    """One table for the whole suite: job, metric, value, 95% CI."""
    from rich.table import Table

    from gapbench.cli.output import fmt_ci, fmt_value

    table = Table(title=title, title_justify="left")
    for col, justify in (
        ("job", "left"),
        ("metric", "left"),
        ("value", "right"),
        ("95% CI", "right"),
        ("run id", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        if o.error:
            table.add_row(o.name, "[red]error[/red]", "", "", o.error)
            continue
        for i, (name, mv) in enumerate(o.metrics.items()):
            ci = mv.get("ci95")
            value = MetricValue(
                mv["value"] if mv["value"] is not None else float("nan"), tuple(ci) if ci else None
            )
            table.add_row(
                o.name if i == 0 else "",
                name,
                fmt_value(value),
                fmt_ci(value),
                (o.run_id or "") if i == 0 else "",
            )
    return table


def print_suite(outcomes: list[JobOutcome], path: Path, title: str) -> None:
    """The suite table, each job's notes, and where the JSON went."""
    from gapbench.cli.output import console

    con = console()
    con.print(suite_table(outcomes, title))
    for o in outcomes:
        for note in o.notes:
            con.print(f"[yellow]note[/yellow] {o.name}: {note}")
    con.print(f"results JSON: {path}")


def run_default_suite(store_url: str | None = None, out_dir: Path = Path("gapbench-out")) -> int:
    """What ``gapbench`` with no arguments does; returns the exit status."""
    outcomes, path = run_suite("default", out_dir=out_dir, store_url=store_url)
    print_suite(outcomes, path, "gapbench default suite (offline)")
    return 1 if any(o.error for o in outcomes) else 0
