"""``gapbench compare runs RUN_A RUN_B``: two stored runs (or run JSON files), paired, per cell and metric."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gapbench.cli.options import BootstrapOpt, FormatOpt, NoCiOpt, OutOpt, OutputFormat, SeedOpt, StoreOpt

RunRef = Annotated[str, typer.Argument(
    metavar="RUN", help="a run id from `gapbench runs`, or a run JSON file written by `gapbench run` "
    "(its RUN_ID.records.jsonl beside it)")]


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @compare_app.command("runs")
    def compare_runs_cmd(
        run_a: RunRef,
        run_b: RunRef,
        store: StoreOpt = None,
        fmt: FormatOpt = OutputFormat.table,
        out: OutOpt = None,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
    ) -> None:
        """Two runs of one task on one data set, A - B per cell (shift, severity) and metric, with the
        paired bootstrap interval and p-value from the per-sample records. Runs of different tasks,
        data sets (fingerprint) or sample ids are refused."""
        from gapbench.cli.render import emit
        from gapbench.scoring.compare_runs import compare_runs, load_run

        doc_a, rec_a, label_a = load_run(run_a, store)
        doc_b, rec_b, label_b = load_run(run_b, store)
        result = compare_runs(doc_a, rec_a, doc_b, rec_b, labels=(label_a, label_b), bootstrap=bootstrap,
                              seed=seed, ci=not no_ci)
        emit(result, fmt, out, lambda: _show(result))


def _show(result: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from gapbench.cli.render import console, fmt_number, fmt_p, print_notes

    a, b, ds = result["a"], result["b"], result["dataset"]
    boot = result.get("bootstrap")
    how = f"paired bootstrap, {boot['resamples']} resamples over samples" if boot else "no intervals (--no-ci)"
    title = (f"A = {a['run_id']} ({a['model']})  vs  B = {b['run_id']} ({b['model']})\n"
             f"task {result['task']}, {ds['n_samples']} samples, dataset {str(ds['fingerprint'])[:12]}; {how}")
    table = Table(title=escape(title), title_justify="left")
    for col in ("cell", "n", "metric", "A", "B", "A - B", "95% CI of A - B", "p", "better (95%)"):
        table.add_column(col, justify="left" if col in ("cell", "metric", "better (95%)") else "right")
    floor = boot.get("p_value_floor") if boot else None
    for cell in result["cells"]:
        label = "clean" if cell["shift"] == "none" else f"{cell['shift']}@{cell['severity']}"
        for k, (name, row) in enumerate(cell["metrics"].items()):
            ci = row["diff"]["ci95"]
            table.add_row(escape(label) if k == 0 else "", str(cell["n"]) if k == 0 else "", escape(name),
                          fmt_number(row["a"]["value"]), fmt_number(row["b"]["value"]),
                          fmt_number(row["diff"]["value"]),
                          "" if ci is None else f"[{fmt_number(ci[0])}, {fmt_number(ci[1])}]",
                          "" if row["p_value"] is None else fmt_p(row["p_value"], floor), _better(row))
    console().print(table)
    for cell in result["cells"]:
        label = "clean" if cell["shift"] == "none" else f"{cell['shift']}@{cell['severity']}"
        print_notes(cell.get("notes", []), f"{label}: ")
    print_notes(result.get("notes", []))


def _better(row: dict[str, Any]) -> str:
    """Which run is better where the interval excludes 0 (and the metric says which way is better)."""
    ci, diff = row["diff"]["ci95"], row["diff"]["value"]
    if ci is None or diff is None:
        return ""
    if ci[0] <= 0 <= ci[1]:
        return "no difference"
    if "higher_is_better" not in row:
        return "differ"
    return "A" if (diff > 0) == row["higher_is_better"] else "B"
