"""``gapbench run TASK``, ``gapbench tasks``, ``gapbench models``: build a RunSpec, run, print."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.options import (
    BaseUrlOpt,
    BootstrapOpt,
    FormatOpt,
    ModelOptionOpt,
    NoCiOpt,
    OutputFormat,
    SeedOpt,
    StoreOpt,
)

DEFAULT_OUT = Path("gapbench-out")

TaskArg = Annotated[str, typer.Argument(help="task name (see `gapbench tasks`) or a task YAML file")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", metavar="URI", help="model URI (default: the task's default model; see `gapbench models`)")]
ShiftOpt = Annotated[list[str] | None, typer.Option(
    "--shift", metavar="SHIFT",
    help="repeatable: FAMILY[,FAMILY...] (each at --severities), 'imagenet-c' (the 15 main corruptions), or "
    "FAMILY:name=value,... with one parameter swept (noise:kind=white,snr=20,10,5); see `gapbench shifts`. "
    "The clean run always comes first")]
SeveritiesOpt = Annotated[str | None, typer.Option(
    "--severities", metavar="LEVELS", help="ladder levels for families given without parameters: 1-5 or 1,3,5 "
    "[default: 1-5]")]
OnErrorOpt = Annotated[str, typer.Option(
    "--on-error", metavar="raise|skip|count",
    help="a sample a shift or the model cannot take: stop (raise), leave it out and list it (skip), or score it "
    "as an error (count)")]
SaveShiftedOpt = Annotated[Path | None, typer.Option(
    "--save-shifted", metavar="DIR", help="save the first --save-shifted-n shifted inputs of every cell here")]
SaveShiftedNOpt = Annotated[int, typer.Option("--save-shifted-n", min=1, metavar="N",
                                              help="how many shifted inputs per cell to save")]
BaselineOpt = Annotated[str | None, typer.Option(
    "--baseline", metavar="alexnet|FILE",
    help="corruption-error baseline for CE/mCE: 'alexnet' (Hendrycks & Dietterich 2019) or a JSON file "
    '{"clean": error, "corruptions": {name: error or [5 errors]}}')]
AnnotationsOpt = Annotated[Path | None, typer.Option(
    "--annotations", metavar="FILE", help="with --data: the annotations file (coco: instances JSON)")]
LabelsOpt = Annotated[Path | None, typer.Option(
    "--labels", metavar="FILE", help="with --data: class names, one a line (imagefolder: the class order)")]
UemOpt = Annotated[Path | None, typer.Option(
    "--uem", metavar="FILE", help="with --data (diarization): scored regions (default: X.uem beside X.rttm)")]
DataOptionOpt = Annotated[list[str] | None, typer.Option(
    "--data-option", metavar="KEY=VALUE", help="repeatable: a data set option (Hugging Face datasets: split=, "
    "text_column=, audio_column=, image_column=, label_column=)")]
DataOpt = Annotated[Path | None, typer.Option(
    "--data", metavar="PATH", help="your data set, for the generic tasks (asr, diarization, imagefolder, coco, ...)")]
NoiseDirOpt = Annotated[Path | None, typer.Option(
    "--noise-dir", metavar="DIR", help="audio clips for noise:kind=babble|file (default: the task's own audio)")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, metavar="N", help="only the first N samples")]
RunOutOpt = Annotated[Path, typer.Option(
    "--out", "-o", metavar="DIR", help="directory for <run_id>.json and the response cache (<out>/cache)")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="samples per model call")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, metavar="N",
                                         help="prefetch/preprocess threads (0 = inline)")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="neither read nor write the response cache")]
MetricOpt = Annotated[list[str] | None, typer.Option(
    "--metric", metavar="NAME", help="repeatable: a metric added to the task's own: semdist (asr; semantic distance, "
    "needs gapbench[semdist])")]
WarmupOpt = Annotated[int, typer.Option(
    "--warmup-batches", min=0, metavar="N", help="computed batches left out of the latency statistics")]


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        task: TaskArg,
        model: ModelOpt = None,
        shift: ShiftOpt = None,
        severities: SeveritiesOpt = None,
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
        on_error: OnErrorOpt = "raise",
        save_shifted: SaveShiftedOpt = None,
        save_shifted_n: SaveShiftedNOpt = 4,
        baseline: BaselineOpt = None,
        noise_dir: NoiseDirOpt = None,
        data: DataOpt = None,
        annotations: AnnotationsOpt = None,
        labels: LabelsOpt = None,
        uem: UemOpt = None,
        data_option: DataOptionOpt = None,
        model_option: ModelOptionOpt = None,
        base_url: BaseUrlOpt = None,
        metric: MetricOpt = None,
    ) -> None:
        """Run a model on a task, clean and under shifts: scores with 95% CIs, the drop from clean with
        its paired interval, per-stage latency, provenance; saved as JSON and to the store."""
        from gapbench.core.run_spec import RunSpec
        from gapbench.core.task import parse_data_options
        from gapbench.models.registry import parse_model_options
        from gapbench.runner.local import run_and_save
        from gapbench.runner.sweep import parse_cells

        spec = RunSpec(task=task, model=model, cells=parse_cells(shift or [], severities), limit=limit, seed=seed,
                       batch_size=batch_size, workers=workers, bootstrap=bootstrap, ci=not no_ci,
                       warmup_batches=warmup, use_cache=not no_cache, on_error=on_error,  # type: ignore[arg-type]
                       save_shifted=str(save_shifted) if save_shifted else None, save_shifted_n=save_shifted_n,
                       baseline=baseline, model_options=parse_model_options(model_option, base_url),
                       options={k: str(v) for k, v in (("noise_dir", noise_dir), ("data", data),
                                                        ("annotations", annotations), ("labels", labels),
                                                        ("uem", uem))
                                if v is not None} | ({"metrics": list(metric)} if metric else {}))
        if data_option:
            spec.options["data_options"] = parse_data_options(data_option)
        outcome, json_path = run_and_save(spec, store_url=store, out_dir=out)
        doc = outcome.document.to_json()
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(doc) + "\n")
            from gapbench.cli.render import print_notes

            for r in outcome.document.results:
                print_notes(r.notes, "" if r.shift == "none" else f"{r.shift}@{r.severity}: ")
            return
        print_run(doc, outcome.clean.n_cached, outcome.clean.n_computed)
        from gapbench.cli.render import err_console
        from gapbench.store import masked_url, resolve_url

        err_console().print(f"JSON written to {json_path}; saved to the store at {masked_url(resolve_url(store))}",
                            markup=False)
        if outcome.coco_files:
            err_console().print(f"COCO ground truth and results files (pycocotools' format) in "
                                f"{outcome.coco_files[0].parent}", markup=False)

    @app.command("tasks")
    def tasks_cmd(fmt: FormatOpt = OutputFormat.table) -> None:
        """List the tasks: name, type, default model, description (and task files that failed to load)."""
        from gapbench.core.task import TASKS, list_tasks

        specs = list_tasks()
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps([s.to_json() for s in specs]) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.render import console, print_notes

        table = Table(title="tasks", title_justify="left")
        for col in ("name", "type", "default model", "description"):
            table.add_column(col)
        for s in specs:
            table.add_row(s.name, s.type, s.default_model or "", s.description)
        console().print(table)
        print_notes([f"not loaded: {e}" for e in TASKS.errors])

    @app.command("models")
    def models_cmd(fmt: FormatOpt = OutputFormat.table) -> None:
        """List the model URI schemes and the built-in models."""
        from gapbench.models.registry import describe_models

        rows = describe_models()
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps([{"model": m, "description": d} for m, d in rows]) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.render import console

        table = Table(title="models", title_justify="left")
        table.add_column("model")
        table.add_column("description")
        for m, d in rows:
            table.add_row(m, d)
        console().print(table)


def print_run(doc: dict[str, Any], n_cached: int | None = None, n_computed: int | None = None) -> None:
    """A run document as people read it: one table per cell, the latency, the notes."""
    from rich.markup import escape

    from gapbench.cli.render import console, err_console, latency_table, metrics_table, print_notes
    from gapbench.core.run_document import RunDocument

    run = RunDocument.from_json(doc)
    con = console()
    if len(run.results) > 1:
        from gapbench.cli.shifts import sweep_table

        con.print(sweep_table(run))
    else:
        r = run.results[0]
        cell = r.shift + ("" if r.severity is None else f" @ {r.severity}")
        title = f"{run.task} x {run.model} [shift: {cell}, {r.n} samples]"
        con.print(metrics_table(escape(title), r.metrics))
    for r in run.results:
        print_notes(r.notes, "" if len(run.results) == 1 else f"{r.shift}@{r.severity}: ")
    if run.latency:
        con.print(latency_table(run.latency))
        tp, rtf = run.latency.get("throughput_samples_per_s"), run.latency.get("real_time_factor")
        extra = f"throughput: {tp:.1f} samples/s" if tp else "throughput: n/a"
        if run.latency.get("fps"):
            extra += f" ({run.latency['fps']:.1f} FPS)"
        if rtf is not None:
            extra += f"; real-time factor: {rtf:.4f}"
        con.print(extra)
        print_notes(list(run.latency.get("notes", [])))
    counts = "" if n_cached is None else f" (from cache: {n_cached}, computed: {n_computed})"
    err_console().print(f"run id: {run.run_id}{counts}", markup=False)
