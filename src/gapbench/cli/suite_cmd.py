"""``gapbench suite``: run a named or YAML suite of jobs and print one results table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.output import BootstrapOpt, FormatOpt, OutputFormat, SeedOpt


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @app.command("suite")
    def suite(
        name: Annotated[str, typer.Argument(help="embedded suite name or a suite YAML file")] = "default",
        store: Annotated[
            str | None,
            typer.Option("--store", help="results store URL (default: SQLite in the user data dir)"),
        ] = None,
        out: Annotated[Path, typer.Option("--out", help="directory for JSON results")] = Path("gapbench-out"),
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        fmt: FormatOpt = OutputFormat.table,
    ) -> Any:
        """Run a suite (default: the embedded offline suite) and print its results table."""
        import json
        import sys

        from gapbench.suite import print_suite, run_suite

        outcomes, path = run_suite(name, out_dir=out, store_url=store, bootstrap=bootstrap, seed=seed)
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(json.loads(path.read_text())) + "\n")
        else:
            print_suite(outcomes, path, f"gapbench suite {name}")
        raise typer.Exit(1 if any(o.error for o in outcomes) else 0)
