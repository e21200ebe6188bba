"""``gapbench latency --task TASK --scenario ...``: MLPerf LoadGen scenarios on the whole pipeline."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.options import BaseUrlOpt, FormatOpt, ModelOptionOpt, OutputFormat, SeedOpt, StoreOpt

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
        model_option: ModelOptionOpt = None,
        base_url: BaseUrlOpt = None,
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
        sut: Annotated[str, typer.Option(
            "--sut", metavar="KIND", help="server: where the model runs: thread (this process) or process (a "
            "forked child per worker: the issuer never waits for the GIL of a model that holds it)")] = "thread",
        switch_interval: Annotated[float | None, typer.Option(
            "--switch-interval", metavar="MS", min=0.001, help="server: the interpreter's GIL switch interval "
            "during the run (default 5 ms; restored after; with --sut process, in the children)")] = None,
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
        store: StoreOpt = None,
        out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                          help="directory for <run_id>.json (written before the store)")
                       ] = Path("gapbench-out"),
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
        if sut not in ("thread", "process"):
            raise typer.BadParameter(f"{sut!r}: expected thread or process", param_hint="'--sut'")
        if (sut != "thread" or switch_interval is not None) and scenario != "server":
            raise typer.BadParameter("only the server scenario has a concurrent issuer", param_hint="'--sut'")
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
            warmup_queries=warmup, seed=seed, early_stopping=not no_early_stopping, sut=sut,
            switch_interval_ms=switch_interval,
        ).check()
        from gapbench.latency.run import run_latency_and_save
        from gapbench.models.registry import parse_model_options

        doc, json_path = run_latency_and_save(task, model, settings, store_url=store, out_dir=out, limit=limit,
                                              model_options=parse_model_options(model_option, base_url),
                                              show_progress=fmt != OutputFormat.json, engine=engine, log_dir=log_dir)
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(doc.to_json()) + "\n")
            return
        from gapbench.cli.render import err_console

        print_block(doc.latency or {})
        if doc.results:
            from gapbench.cli.render import console

            m = doc.results[0].metrics
            console().print(f"accuracy (same run, {doc.results[0].n} samples): " +
                            ", ".join(f"{k}={v.value:.4f}" for k, v in m.items() if v.value is not None), markup=False)
        from gapbench.store import masked_url, resolve_url

        err_console().print(f"{doc.task} x {doc.model}; model load {doc.latency.get('load_ms', 0):.1f} ms; "
                            f"JSON written to {json_path}; saved to the store at {masked_url(resolve_url(store))}",
                            markup=False)


# ---- printing (the latency report's tables) -------------------------------------------------


def _ms_text(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f} ms"


def latency_rows(block: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(what, p50, p90, p99, mean, count) rows for the table."""
    def row(name: str, st: dict[str, Any] | None) -> tuple[str, str, str, str, str, str]:
        st = st or {}
        f = (lambda k: "n/a" if st.get(k) is None else f"{st[k]:.3f}")  # noqa: E731
        return (name, f("p50_ms"), f("p90_ms"), f("p99_ms"), f("mean_ms"), str(st.get("count", 0)))

    rows = [row("end to end", block.get("end_to_end"))]
    rows += [row(s, st) for s, st in (block.get("stages") or {}).items() if st.get("count")]
    for key, name in (("issue_delay", "issue delay"), ("queue", "queueing"),
                      ("time_to_first_result", "first result")):
        if block.get(key):
            rows.append(row(name, block[key]))
    return rows


def print_block(block: dict[str, Any]) -> None:
    """The block as people read it: one table, then throughput, validity, sweep and notes."""
    from rich.table import Table

    from gapbench.cli.render import console, print_notes

    con = console()
    table = Table(title=f"latency: {block['scenario']} ({block['queries']} queries, {block['samples']} samples)",
                  title_justify="left")
    for col in ("stage", "p50 ms", "p90 ms", "p99 ms", "mean ms", "count"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for r in latency_rows(block):
        table.add_row(*r)
    con.print(table)
    tp = block.get("throughput") or {}
    parts = [f"{tp.get('queries_per_s') or 0:.1f} queries/s", f"{tp.get('samples_per_s') or 0:.1f} samples/s"]
    if block.get("fps") is not None:
        parts.append(f"{block['fps']:.1f} FPS")
    if block.get("rtf") is not None:
        parts.append(f"RTF {block['rtf']:.4f} (RTFx {block['rtfx']:.1f})")
    es = block.get("early_stopping")
    if es and es.get("estimate_ms") is not None:
        parts.append(f"early-stopping p{es['percentile']:g} {es['estimate_ms']:.3f} ms")
    con.print("throughput: " + "; ".join(parts))
    for step in block.get("sweep") or []:
        con.print("  " + ", ".join(f"{k}={_short(v)}" for k, v in step.items()))
    if block.get("max_qps") is not None:
        con.print(f"max QPS with p99 <= bound: {block['max_qps']:.2f}")
    hw = block.get("hardware") or {}
    if hw:
        epq = hw.get("energy_j_per_query")
        gpu = hw.get("gpu_memory_peak_mb")
        na = hw.get("not_available") or {}
        con.print("energy: " + (f"{epq:.4f} J/query ({', '.join(hw.get('energy_sources') or [])})" if epq is not None
                                else na.get("cpu_energy", "not available here"))
                  + "; GPU memory: " + (f"{gpu:.1f} MB" if gpu is not None else na.get("gpu_memory", "n/a")))
    con.print("VALID" if block["valid"] else "INVALID: " + "; ".join(block["invalid_reasons"]))
    print_notes(list(block.get("notes") or []))


def _short(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)

