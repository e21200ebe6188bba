"""``gapbench shifts`` (families, ladders, parameters), ``gapbench shifts apply``, and the sweep table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.options import FormatOpt, OutputFormat

shifts_app = typer.Typer(help="Input shifts: list the families and their ladders, or apply one to a file.",
                         invoke_without_command=True, no_args_is_help=False)


def sweep_table(run: Any) -> Any:
    """Clean, every cell, and the degradation from clean with its paired interval."""
    from rich.markup import escape
    from rich.table import Table

    from gapbench.cli.render import fmt_ci, fmt_number, fmt_value

    summary = run.summary or {}
    metric = summary.get("metric") or next(iter(run.results[0].metrics))
    drops = {(c["shift"], json.dumps(c["params"], sort_keys=True)): c for c in summary.get("cells", [])}
    table = Table(title=escape(f"{run.task} x {run.model}: {metric} under shifts ({run.results[0].n} samples; "
                               "drop = degradation from clean, paired 95% CI)"), title_justify="left")
    for col in ("shift", "severity", "value", "95% CI", "drop", "drop 95% CI"):
        table.add_column(col, justify="left" if col == "shift" else "right")
    for r in run.results:
        mv = r.metrics.get(metric)
        if mv is None:
            continue
        d = drops.get((r.shift, json.dumps(r.params, sort_keys=True)), {})
        ci = d.get("drop_ci95")
        table.add_row(r.shift, "" if r.severity is None else f"{r.severity:g}", fmt_value(mv), fmt_ci(mv),
                      "" if "drop" not in d else fmt_number(d["drop"]),
                      "" if not ci else f"[{fmt_number(ci[0])}, {fmt_number(ci[1])}]")
    return table


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    app.add_typer(shifts_app, name="shifts")

    @shifts_app.callback()
    def shifts_list(ctx: typer.Context, fmt: FormatOpt = OutputFormat.table) -> None:
        """Every shift family: modality, geometric or not, parameters and the 1-5 ladder."""
        if ctx.invoked_subcommand is not None:
            return
        from gapbench.shifts.registry import families

        fams = families()
        rows = [{"name": f.name, "modality": f.modality, "geometric": f.geometric, "description": f.description,
                 "params": {p.name: p.doc for p in f.params},
                 "ladder": {str(k): dict(v) for k, v in f.ladder.items()}} for f in fams.values()]
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(rows, default=str) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.render import console

        table = Table(title=f"shift families ({len(rows)}); 'imagenet-c' names the 15 main corruptions",
                      title_justify="left")
        for col in ("family", "modality", "parameters", "ladder 1 .. 5"):
            table.add_column(col)
        for f in fams.values():
            params = "; ".join(f"{p.name}: {p.doc}" for p in f.params)
            ladder = " | ".join(", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in f.ladder[s].items()) for s in sorted(f.ladder))
            table.add_row(f.name + (" (geometric)" if f.geometric else ""), f.modality, params, ladder)
        console().print(table)

    @shifts_app.command("apply")
    def shifts_apply(
        shift: Annotated[str, typer.Argument(help="FAMILY or FAMILY:name=value,... (see `gapbench shifts`)")],
        src: Annotated[Path, typer.Argument(help="input image (PNG, JPEG...) or audio file (WAV, FLAC...)")],
        dst: Annotated[Path, typer.Argument(help="output file (audio keeps the input's format and subtype)")],
        severity: Annotated[int | None, typer.Option("--severity", min=1, max=5,
                                                     help="ladder level 1-5 (default 3 when no parameters)")] = None,
        seed: Annotated[int, typer.Option("--seed", min=0, help="seed of the shift's randomness")] = 0,
        noise_dir: Annotated[Path | None, typer.Option(
            "--noise-dir", help="directory of noise/speech clips for noise:kind=babble|file")] = None,
    ) -> None:
        """Apply one shift to one file."""
        from gapbench.cli.render import err_console
        from gapbench.shifts.apply import apply_to_file

        message = apply_to_file(shift, src, dst, severity=severity, seed=seed, noise_dir=noise_dir)
        err_console().print(message, markup=False)
