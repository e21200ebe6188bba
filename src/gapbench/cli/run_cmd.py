"""``gapbench run TASK --model M``, ``gapbench tasks``, ``gapbench models``.

Heavy imports live inside the command bodies so ``gapbench --help`` stays fast.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.output import BootstrapOpt, FormatOpt, NoCiOpt, OutputFormat, SeedOpt

DEFAULT_OUT = Path("gapbench-out")

TaskArg = Annotated[str, typer.Argument(help="task name (see `gapbench tasks`) or a task YAML file")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="model URI (default: the task's default model; see `gapbench models`)")]
ShiftOpt = Annotated[str, typer.Option("--shift", help="input shift to apply ('none' = clean)")]
SeverityOpt = Annotated[int | None, typer.Option("--severity", help="shift severity (with --shift)")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="only the first N samples")]
StoreOpt = Annotated[str | None, typer.Option(
    "--store", help="results store URL (default: $GAPBENCH_STORE, else SQLite in the user data dir)")]
RunOutOpt = Annotated[Path, typer.Option(
    "--out", "-o", help="directory for <run_id>.json and the response cache (<out>/cache)")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="samples per model call")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="prefetch/preprocess threads (0 = inline)")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="neither read nor write the response cache")]
WarmupOpt = Annotated[int, typer.Option(
    "--warmup-batches", help="computed batches left out of the latency statistics")]


def _latency_table(latency: dict[str, Any]) -> Any:
    from rich.table import Table

    def ms(x: float | None) -> str:
        return "n/a" if x is None else f"{1000 * x:.3f}"

    table = Table(title="latency (ms per sample; percentiles: numpy 'linear')", title_justify="left")
    for col in ("stage", "count", "mean", "p50", "p90", "p99"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    rows = dict(latency["stages"])
    rows["end-to-end"] = latency["end_to_end"]
    rows["per batch"] = latency["batch_latency"]
    for name, st in rows.items():
        table.add_row(name, str(st["count"]), ms(st["mean"]), ms(st["p50"]), ms(st["p90"]), ms(st["p99"]))
    return table


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @app.command("run")
    def run(
        task: TaskArg,
        model: ModelOpt = None,
        shift: ShiftOpt = "none",
        severity: SeverityOpt = None,
        limit: LimitOpt = None,
        seed: SeedOpt = 0,
        store: StoreOpt = None,
        out: RunOutOpt = DEFAULT_OUT,
        fmt: FormatOpt = OutputFormat.table,
        batch_size: BatchSizeOpt = 32,
        workers: WorkersOpt = 2,
        bootstrap: BootstrapOpt = 1000,
        no_ci: NoCiOpt = False,
        no_cache: NoCacheOpt = False,
        warmup: WarmupOpt = 1,
    ) -> None:
        """Run a model on a task (optionally under a shift): scores with 95% CIs, latency, provenance."""
        from gapbench.runner.local import run_and_save

        result, doc, json_path = run_and_save(
            task, model, store_url=store, out_dir=out, limit=limit, seed=seed, batch_size=batch_size,
            workers=workers, shift=shift, severity=severity, bootstrap=bootstrap, ci=not no_ci,
            warmup_batches=warmup, **({"cache": False} if no_cache else {}),
        )
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(doc) + "\n")
            return
        _print_run(result, doc, json_path, store)

    @app.command("tasks")
    def tasks(fmt: FormatOpt = OutputFormat.table) -> None:
        """List the tasks: name, type, default model, description."""
        from gapbench.core.task import list_tasks

        specs = list_tasks()
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps([s.to_json() for s in specs]) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.output import console

        table = Table(title="tasks", title_justify="left")
        for col in ("name", "type", "default model", "description"):
            table.add_column(col)
        for s in specs:
            table.add_row(s.name, s.type, s.default_model or "", s.description)
        console().print(table)

    @app.command("models")
    def models(fmt: FormatOpt = OutputFormat.table) -> None:
        """List the model URI schemes and the built-in models."""
        from gapbench.models.registry import describe_models

        rows = describe_models()
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps([{"model": m, "description": d} for m, d in rows]) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.output import console

        table = Table(title="models", title_justify="left")
        table.add_column("model")
        table.add_column("description")
        for m, d in rows:
            table.add_row(m, d)
        console().print(table)


def _print_run(result: Any, doc: dict[str, Any], json_path: Path, store_url: str | None) -> None:
    from rich.markup import escape

    from gapbench.cli.output import console, metrics_table

    con = console()
    shift = result.shift + ("" if result.severity is None else f" @ {result.severity}")
    title = f"{result.task.name} x {result.model}  [shift: {shift}, n={result.n_samples}]"
    con.print(metrics_table(escape(title), result.metrics))
    for note in result.score.notes:
        con.print(f"[yellow]note:[/yellow] {note}")
    lat = doc["latency"]
    con.print(_latency_table(lat))
    tp = lat.get("throughput_samples_per_s")
    rtf = lat.get("real_time_factor")
    extra = f"throughput: {tp:.1f} samples/s" if tp else "throughput: n/a"
    if rtf is not None:
        extra += f"; real-time factor: {rtf:.4f}"
    con.print(extra)
    for note in lat.get("notes", []):
        con.print(f"[yellow]note:[/yellow] {note}")
    con.print(f"run id: {doc['run_id']}  (from cache: {result.n_cached}, computed: {result.n_computed})")
    from gapbench.store import resolve_url

    where = _masked_url(resolve_url(store_url))
    con.print(escape(f"JSON written to {json_path}; saved to the store at {where}"))


def _masked_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
