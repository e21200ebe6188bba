"""``gapbench latency --task TASK --scenario ...``: MLPerf LoadGen scenarios on the whole pipeline."""
from __future__ import annotations

import json
import re
import sys
from typing import Annotated

import typer

from gapbench.cli.options import FormatOpt, OutputFormat, SeedOpt

SCENARIO_HELP = ("single-stream (one sample per query, closed loop; p90), multi-stream (N samples per query; p99), "
                 "server (Poisson arrivals at --qps, open loop; valid if p99 <= --latency-bound), "
                 "offline (all samples in batches; samples/s over --batch-sizes)")
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(us|ms|s)?\s*$", re.IGNORECASE)


def parse_duration_ms(text: str) -> float:
    """``200ms``, ``0.2s``, ``500us`` or a bare number of milliseconds -> milliseconds (> 0)."""
    m = _DURATION.match(text or "")
    if not m:
        raise typer.BadParameter(f"{text!r}: expected a duration such as 200ms, 0.2s or 500us")
    value = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[(m.group(2) or "ms").lower()]
    if not value > 0 or value == float("inf"):
        raise typer.BadParameter(f"{text!r}: the duration must be > 0")
    return value


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """``1,2,4,8`` -> (1, 2, 4, 8); every size an integer >= 1."""
    try:
        sizes = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected comma-separated integers >= 1, e.g. 1,2,4,8") from None
    if not sizes or any(s < 1 for s in sizes):
        raise typer.BadParameter(f"{text!r}: expected comma-separated integers >= 1, e.g. 1,2,4,8")
    return sizes


def _check_duration(text: str | None) -> str | None:
    if text is not None:
        parse_duration_ms(text)
    return text


def _check_sizes(text: str) -> str:
    parse_batch_sizes(text)
    return text


def _check_seconds(value: float) -> float:
    if not (value >= 0 and value != float("inf")):
        raise typer.BadParameter(f"{value}: must be a finite number of seconds >= 0")
    return value


def _check_qps(value: float | None) -> float | None:
    if value is not None and not (0 < value < float("inf")):
        raise typer.BadParameter(f"{value}: must be a finite number of queries per second > 0")
    return value


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @app.command("latency")
    def latency_cmd(
        task: Annotated[str, typer.Option("--task", "-t", metavar="TASK", help="task name or task YAML file")],
        model: Annotated[str | None, typer.Option("--model", "-m", metavar="URI",
                                                  help="model URI (default: the task's model)")] = None,
        scenario: Annotated[str, typer.Option("--scenario", "-s", metavar="NAME", help=SCENARIO_HELP)
                            ] = "single-stream",
        min_queries: Annotated[int, typer.Option("--min-queries", min=1, metavar="N",
                                                 help="at least N measured queries (offline: samples)")] = 100,
        min_duration: Annotated[float, typer.Option("--min-duration", metavar="S", callback=_check_seconds,
                                                    help="at least S seconds measured")] = 1.0,
        samples_per_query: Annotated[int, typer.Option("--samples-per-query", min=1, metavar="N",
                                                       help="multi-stream: samples per query")] = 8,
        qps: Annotated[float | None, typer.Option("--qps", metavar="Q", callback=_check_qps,
                                                  help="server: target queries per second (Poisson)")] = None,
        latency_bound: Annotated[str | None, typer.Option(
            "--latency-bound", metavar="T", callback=_check_duration,
            help="server: the p99 bound, e.g. 200ms or 0.2s")] = None,
        find_max: Annotated[bool, typer.Option(
            "--find-max-qps", help="server: binary-search the highest QPS meeting the bound (2%)")] = False,
        batch_sizes: Annotated[str, typer.Option("--batch-sizes", metavar="LIST", callback=_check_sizes,
                                                 help="offline: batch sizes to sweep, e.g. 1,2,4,8")] = "1",
        workers: Annotated[int, typer.Option("--workers", min=1, metavar="N",
                                             help="server: queries served concurrently")] = 1,
        warmup: Annotated[int, typer.Option("--warmup-queries", min=0, metavar="N",
                                            help="queries run first and left out of every figure")] = 10,
        limit: Annotated[int | None, typer.Option("--limit", min=1, metavar="N",
                                                  help="sample pool: the first N samples")] = None,
        no_early_stopping: Annotated[bool, typer.Option(
            "--no-early-stopping", help="a run too short for LoadGen's early-stopping estimate stays valid")] = False,
        engine: Annotated[str, typer.Option(
            "--engine", metavar="NAME", help="gapbench (its own load generator) or loadgen (MLPerf LoadGen, "
            "mlcommons-loadgen installed: MLPerf-format logs in --log-dir)")] = "gapbench",
        log_dir: Annotated[str, typer.Option("--log-dir", metavar="DIR", help="--engine loadgen: where the "
                                             "MLPerf logs go")] = "gapbench-out/mlperf-logs",
        seed: SeedOpt = 0,
        fmt: FormatOpt = OutputFormat.table,
    ) -> None:
        """Latency and throughput of the whole pipeline under MLPerf LoadGen scenarios (no response cache)."""
        from gapbench.latency.scenarios import SCENARIOS, ScenarioSettings

        if scenario not in SCENARIOS:
            raise typer.BadParameter(f"{scenario!r}: expected one of {', '.join(SCENARIOS)}",
                                     param_hint="'--scenario'")
        if scenario == "server" and qps is None:
            raise typer.BadParameter("the server scenario needs a target QPS (the start with --find-max-qps)",
                                     param_hint="'--qps'")
        if find_max and (scenario != "server" or latency_bound is None):
            raise typer.BadParameter("needs --scenario server and --latency-bound", param_hint="'--find-max-qps'")
        if engine not in ("gapbench", "loadgen"):
            raise typer.BadParameter(f"{engine!r}: expected gapbench or loadgen", param_hint="'--engine'")
        if engine == "loadgen":
            from gapbench.latency.mlperf import loadgen_available

            if not loadgen_available():
                raise typer.BadParameter("needs mlcommons-loadgen (pip install 'gapbench[loadgen]')",
                                         param_hint="'--engine'")
            if find_max:
                raise typer.BadParameter("--find-max-qps runs with --engine gapbench", param_hint="'--engine'")
        settings = ScenarioSettings(
            scenario=scenario, min_queries=min_queries, min_duration_s=min_duration,
            samples_per_query=samples_per_query, qps=qps,
            latency_bound_ms=parse_duration_ms(latency_bound) if latency_bound else None,
            find_max_qps=find_max, batch_sizes=parse_batch_sizes(batch_sizes), workers=workers,
            warmup_queries=warmup, seed=seed, early_stopping=not no_early_stopping,
        ).check()
        from gapbench.latency.run import run_latency

        doc, _ = run_latency(task, model, settings, limit=limit, show_progress=fmt != OutputFormat.json,
                             engine=engine, log_dir=log_dir)
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(doc.to_json()) + "\n")
            return
        from gapbench.cli.render import err_console
        from gapbench.latency.report import print_block

        print_block(doc.latency or {})
        err_console().print(f"{doc.task} x {doc.model}; model load {doc.latency.get('load_ms', 0):.1f} ms",
                            markup=False)
