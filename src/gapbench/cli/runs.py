"""``gapbench runs`` and ``gapbench show RUN``: what the results store holds."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from gapbench.cli.options import FormatOpt, OutputFormat, StoreOpt


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @app.command("runs")
    def runs_cmd(
        task: Annotated[str | None, typer.Option("--task", help="only runs of this task")] = None,
        model: Annotated[str | None, typer.Option("--model", "-m", help="only runs of this model")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, metavar="N", help="newest N runs")] = 20,
        store: StoreOpt = None,
        fmt: FormatOpt = OutputFormat.table,
    ) -> None:
        """List stored runs, newest first, with their headline (clean) metrics."""
        from gapbench.store import open_store

        with open_store(store) as st:
            rows = st.list_runs(task=task, model=model, limit=limit)
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(rows) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.render import console, fmt_number

        table = Table(title=f"runs ({len(rows)} newest)", title_justify="left")
        for col in ("run id", "created (UTC)", "task", "model", "metrics"):
            table.add_column(col)
        for r in rows:
            shown = ", ".join(f"{k} {fmt_number(v['value'])}" for k, v in list(r["metrics"].items())[:4])
            table.add_row(r["run_id"], r["created_at"][:19], r["task"], r["model"], shown)
        console().print(table)

    @app.command("show")
    def show_cmd(
        run_id: Annotated[str, typer.Argument(help="a run id from `gapbench runs`")],
        store: StoreOpt = None,
        fmt: FormatOpt = OutputFormat.table,
    ) -> None:
        """One stored run: its results table (and sweep summary), latency and provenance."""
        from gapbench.store import open_store

        with open_store(store) as st:
            doc = st.get_run(run_id)
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(doc) + "\n")
            return
        from gapbench.cli.run import print_run

        print_run(doc)
