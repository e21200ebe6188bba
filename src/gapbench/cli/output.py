"""Shared CLI options and rendering: a rich table for people, one JSON object for machines."""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.core.results import CompareResult, MetricValue, ScoreResult


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json for machines")
]
BootstrapOpt = Annotated[int, typer.Option("--bootstrap", help="bootstrap resamples for the 95% CI")]
SeedOpt = Annotated[int, typer.Option("--seed", help="seed for resampling (results are reproducible)")]
NoCiOpt = Annotated[bool, typer.Option("--no-ci", help="skip confidence intervals")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="also write the JSON result to this file")]


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.4f}"


def fmt_value(mv: MetricValue) -> str:
    v = mv.value
    if mv.ci95 is None and v is not None and not math.isnan(v) and float(v).is_integer():
        return str(int(v))
    return _fmt(v)


def fmt_ci(mv: MetricValue) -> str:
    return "" if mv.ci95 is None else f"[{_fmt(mv.ci95[0])}, {_fmt(mv.ci95[1])}]"


def metrics_table(title: str, metrics: dict[str, MetricValue], key_header: str = "metric") -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(key_header)
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for name, mv in metrics.items():
        table.add_row(name, fmt_value(mv), fmt_ci(mv))
    return table


def console() -> Any:
    """A rich console for results; 120 columns when stdout is not a terminal (logs, pipes)."""
    from rich.console import Console

    c = Console(soft_wrap=True)
    if not c.is_terminal:
        c = Console(soft_wrap=True, width=120)
    return c


def write_json(payload: dict[str, Any], out: Path | None) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2) + "\n")


def emit_score(result: ScoreResult, fmt: OutputFormat, out: Path | None = None, title: str = "") -> None:
    """Print a ScoreResult as a table (default) or one JSON object; optionally save the JSON."""
    payload = result.to_json()
    write_json(payload, out)
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    con = console()
    con.print(metrics_table(title or result.kind, result.metrics))
    for name, group in result.groups.items():
        con.print(metrics_table(name, group, key_header="name"))
    for note in result.notes:
        con.print(f"[yellow]note:[/yellow] {note}")
    if out is not None:
        con.print(f"JSON written to {out}")


def emit_compare(result: CompareResult, fmt: OutputFormat, out: Path | None = None) -> None:
    payload = result.to_json()
    write_json(payload, out)
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    con = console()
    rows = {"A": result.a, "B": result.b, "A - B": result.diff}
    con.print(metrics_table(f"{result.kind}: paired bootstrap, n={result.n}", rows, "system"))
    con.print(f"p-value (two-sided, H0: no difference): {_fmt(result.p_value)}")
    for note in result.notes:
        con.print(f"[yellow]note:[/yellow] {note}")
