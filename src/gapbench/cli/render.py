"""Rendering for people: rich tables on standard output, notes on standard error; and one JSON
object for machines (with ``--format json`` standard output holds only that)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from gapbench.cli.options import OutputFormat
from gapbench.core.results import CompareResult, MetricValue, ScoreResult


def fmt_number(x: float | int | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, int):
        return str(x)
    return f"{x:.4f}"


def plural(n: int | None, word: str) -> str:
    """``1 file``, ``2 files`` (titles and notes give counts; ``n/a`` when unknown)."""
    if n is None:
        return f"n/a {word}s"
    return f"{n} {word}" + ("" if n == 1 else "s")


def fmt_value(mv: MetricValue) -> str:
    return fmt_number(mv.value)


def fmt_ci(mv: MetricValue) -> str:
    return "" if mv.ci95 is None else f"[{fmt_number(mv.ci95[0])}, {fmt_number(mv.ci95[1])}]"


def console() -> Any:
    """A rich console for results; 140 columns when stdout is not a terminal (logs, pipes)."""
    from rich.console import Console

    c = Console(soft_wrap=True, highlight=False)
    if not c.is_terminal:
        c = Console(soft_wrap=True, width=140, highlight=False)
    return c


def err_console() -> Any:
    """Notes and progress go to standard error."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def metrics_table(title: str, metrics: dict[str, MetricValue], key_header: str = "metric",
                  units: dict[str, str] | None = None) -> Any:
    """name | value | 95% CI (the CI column only when some value has one) | unit (when given).

    ``title`` is rich markup (callers escape what comes from data); names are shown as plain
    text, never as markup, since they come from the data (class names, file names, ids)."""
    from rich.table import Table
    from rich.text import Text

    with_ci = any(mv.ci95 is not None for mv in metrics.values())
    table = Table(title=title, title_justify="left")
    table.add_column(key_header)
    table.add_column("value", justify="right")
    if with_ci:
        table.add_column("95% CI", justify="right")
    if units:
        table.add_column("unit")
    for name, mv in metrics.items():
        row = [Text(str(name)), fmt_value(mv)] + ([fmt_ci(mv)] if with_ci else []) + (
            [units.get(name, "")] if units else [])
        table.add_row(*row)
    return table


def print_notes(notes: list[str], prefix: str = "") -> None:
    if not notes:
        return
    from rich.markup import escape

    con = err_console()
    for note in notes:  # notes quote ids, paths and class names: never read them as markup
        con.print(f"[yellow]note:[/yellow] {escape(prefix + str(note))}", markup=True)


def write_json(payload: dict[str, Any], out: Path | None) -> None:
    """Write ``payload`` to ``out``; an unwritable place is one InputError naming it."""
    if out is None:
        return
    from gapbench.errors import InputError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2) + "\n")
    except OSError as exc:
        raise InputError(str(out), None, "a writable file", exc.strerror or str(exc)) from None


def emit(payload: dict[str, Any], fmt: OutputFormat, out: Path | None, show: Any) -> None:
    """Print (table or JSON) first, then save: an unwritable ``--out`` never loses the result.

    With JSON, standard output holds only the document; its notes are also said on standard
    error, as the table form says them, so a person watching a pipeline still sees them."""
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()
        print_notes([str(n) for n in payload.get("notes", [])])
    else:
        show()
    write_json(payload, out)
    if out is not None and fmt != OutputFormat.json:
        err_console().print(f"JSON written to {out}", markup=False)


def emit_score(result: ScoreResult, fmt: OutputFormat, out: Path | None = None, title: str = "",
               units: dict[str, str] | None = None, records: bool = False) -> None:
    """A ScoreResult as tables (headline, then each group) or one JSON object (with ``records``:
    its per-unit records under ``"records"``, in the JSON only)."""

    from rich.markup import escape

    def show() -> None:
        con = console()
        con.print(metrics_table(escape(title or result.kind), result.metrics, units=units))
        for name, group in result.groups.items():
            unit = units.get(name) if units else None
            shown = name if not unit or unit == name else f"{name} ({unit})"
            con.print(metrics_table(escape(shown), group, key_header="name"))
        print_notes(result.notes)

    emit(result.to_json(with_records=records), fmt, out, show)


def fmt_p(p: float, floor: float | None) -> str:
    """A p-value; at the floor of its resamples it reads ``< floor`` (it cannot be smaller)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if floor is not None and p <= floor * (1 + 1e-9):
        return f"< {_round_up(max(floor, 1e-12)):g}"
    return f"{p:.4f}"


def _round_up(x: float) -> float:
    """``x`` rounded up to one significant digit: 1/1001 -> 0.001, 1/101 -> 0.01, 1/51 -> 0.02."""
    e = math.floor(math.log10(x))
    return math.ceil(round(x / 10.0 ** e, 9)) * 10.0 ** e


# what a compared metric's numbers are, where the name alone does not say
COMPARE_UNITS = {"der": "fraction of reference speech"}


def emit_compare(result: CompareResult, fmt: OutputFormat, out: Path | None = None) -> None:
    from rich.markup import escape

    def show() -> None:
        con = console()
        a, b = str(result.info.get("a", "A")), str(result.info.get("b", "B"))
        if a == b:  # the same file twice: two rows, not one
            a, b = f"{a} (first)", f"{b} (second)"
        rows = {a: result.a, b: result.b, "difference (first - second)": result.diff}
        unit = next((k for k in result.info if k.endswith("s") and isinstance(result.info[k], int)), "units")
        what = result.metric + (f" ({COMPARE_UNITS[result.metric]})" if result.metric in COMPARE_UNITS else "")
        title = f"{what}: paired bootstrap over {plural(result.n, unit[:-1])}"
        con.print(metrics_table(escape(title), rows, "system"))
        con.print(f"p-value (two-sided, H0: no difference): {fmt_p(result.p_value, result.info.get('p_value_floor'))}")
        print_notes(result.notes)

    emit(result.to_json(), fmt, out, show)


def latency_table(latency: dict[str, Any]) -> Any:
    from rich.table import Table

    def ms(x: float | None) -> str:
        return "n/a" if x is None else f"{1000 * x:.3f}"

    title = "latency (ms per sample; percentiles: numpy 'linear')"
    if latency.get("from_cache"):
        title += " - stored with the cached responses"
    table = Table(title=title, title_justify="left")
    for col in ("stage", "count", "mean", "p50", "p90", "p99"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    rows = dict(latency["stages"])
    rows["end-to-end"] = latency["end_to_end"]
    rows["per batch"] = latency["batch_latency"]
    for name, st in rows.items():
        table.add_row(name, str(st["count"]), ms(st["mean"]), ms(st["p50"]), ms(st["p90"]), ms(st["p99"]))
    return table
