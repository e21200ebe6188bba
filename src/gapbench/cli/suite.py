"""``gapbench suite`` and bare ``gapbench``: run a suite, print one results table and the wall time."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.options import BootstrapOpt, FormatOpt, OutputFormat, SeedOpt, StoreOpt


def _latency_text(latency: dict[str, Any] | None) -> str:
    """The clean cell's end-to-end p50 per sample (from the run that computed it when cached)."""
    p50 = ((latency or {}).get("end_to_end") or {}).get("p50")
    return "" if p50 is None else f"{1000 * p50:.1f} ms"


def suite_table(outcomes: list[Any], title: str) -> Any:
    """One table for the whole suite: job, cell, metric, value, 95% CI, latency, run id."""
    from rich.markup import escape
    from rich.table import Table

    from gapbench.cli.render import fmt_ci, fmt_value

    table = Table(title=title, title_justify="left")
    for col, justify in (("job", "left"), ("cell", "left"), ("metric", "left"), ("value", "right"),
                         ("95% CI", "right"), ("p50/sample", "right"), ("run id", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        if o.error:
            table.add_row(escape(o.name), "", "[red]error[/red]", "", "", "", escape(o.error))
            continue
        first = True
        for r in o.document.results:
            cell = _cell_label(r)
            for name, mv in r.metrics.items():
                if o.show is not None and name not in o.show:
                    continue
                table.add_row(escape(o.name) if first else "", cell, name, fmt_value(mv), fmt_ci(mv),
                              _latency_text(o.document.latency) if first else "", o.document.run_id if first else "")
                first, cell = False, ""
    return table


def _cell_label(r: Any) -> str:
    return r.shift if r.severity is None else f"{r.shift}@{r.severity:g}"


def _job_notes(results: list[Any]) -> list[str]:
    """A job's notes, each naming its cell where the job has several; a note every cell has is said once."""
    if len(results) == 1:
        return list(dict.fromkeys(results[0].notes))
    everywhere = set.intersection(*(set(r.notes) for r in results)) if results else set()
    notes = [f"(all cells) {n}" for n in dict.fromkeys(n for r in results for n in r.notes if n in everywhere)]
    notes += [f"{_cell_label(r)}: {n}" for r in results for n in dict.fromkeys(r.notes) if n not in everywhere]
    return notes


def print_suite(outcomes: list[Any], path: Path, problems: list[str], title: str,
                wall_s: float | None = None) -> None:
    """The suite table, each job's notes (stderr), where the JSON went and the wall time."""
    from gapbench.cli.render import console, err_console, print_notes

    con = console()
    con.print(suite_table(outcomes, title))
    for o in outcomes:
        if o.document is not None:
            print_notes(_job_notes(o.document.results), f"{o.name}: ")
    print_notes(problems)
    err = err_console()
    con.print(f"results JSON: {path}", markup=False)
    if wall_s is not None:
        seconds = ", ".join(f"{o.name} {o.seconds:.1f} s" for o in outcomes)
        err.print(f"jobs: {seconds}", markup=False)
        con.print(f"wall time: {wall_s:.1f} s", markup=False)


def run_default_suite(store_url: str | None = None, out_dir: Path = Path("gapbench-out")) -> int:
    """What ``gapbench`` with no arguments does; returns the exit status."""
    from gapbench.suite import run_suite

    t0 = time.perf_counter()
    outcomes, path, problems = run_suite("default", out_dir=out_dir, store_url=store_url)
    print_suite(outcomes, path, problems, "gapbench default suite (offline)", wall_s=time.perf_counter() - t0)
    _store_failure(problems, path)
    return 1 if any(o.error for o in outcomes) else 0


def _store_failure(problems: list[str], path: Path) -> None:
    """A store that could not take the runs is an error (exit 2), naming where the JSON is."""
    failed = next((p for p in problems if ": not saved to the store: " in p), None)
    if failed is not None:
        from gapbench.store import StoreError

        raise StoreError(f"{failed}; the suite's JSON was written to {path}")


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @app.command("suite")
    def suite_cmd(
        name: Annotated[str, typer.Argument(help="embedded suite name or a suite YAML file")] = "default",
        store: StoreOpt = None,
        out: Annotated[Path, typer.Option("--out", metavar="DIR", help="directory for JSON results")] = Path(
            "gapbench-out"),
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        fmt: FormatOpt = OutputFormat.table,
    ) -> Any:
        """Run a suite (default: the embedded offline suite) and print its results table."""
        from gapbench.suite import run_suite

        t0 = time.perf_counter()
        outcomes, path, problems = run_suite(name, out_dir=out, store_url=store, bootstrap=bootstrap, seed=seed)
        if fmt == OutputFormat.json:
            import json

            sys.stdout.write(json.dumps(json.loads(path.read_text())) + "\n")
            from gapbench.cli.render import print_notes

            print_notes(problems)
        else:
            print_suite(outcomes, path, problems, f"gapbench suite {name}", wall_s=time.perf_counter() - t0)
        _store_failure(problems, path)
        raise typer.Exit(1 if any(o.error for o in outcomes) else 0)
