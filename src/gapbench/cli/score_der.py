"""``gapbench score der``: diarization error rate of an RTTM hypothesis (pyannote.metrics engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.output import BootstrapOpt, FormatOpt, NoCiOpt, OutOpt, OutputFormat, SeedOpt


def score_der_cmd(
    ref: Annotated[Path, typer.Argument(help="reference RTTM")],
    hyp: Annotated[Path, typer.Argument(help="hypothesis RTTM")],
    uem: Annotated[
        Path | None,
        typer.Option(
            "--uem",
            help="UEM file (file chan start end). Without it each file's scored region is the union "
            "of reference and hypothesis extents, as pyannote.metrics approximates it.",
        ),
    ] = None,
    collar: Annotated[
        float,
        typer.Option(
            "--collar",
            help="seconds forgiven on EACH side of every reference boundary (md-eval/dscore -c); "
            "pyannote's collar is the total width, so --collar 0.25 = pyannote collar=0.5",
        ),
    ] = 0.0,
    skip_overlap: Annotated[
        bool, typer.Option("--skip-overlap", help="do not score regions where the reference has 2+ speakers")
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    no_ci: NoCiOpt = False,
    out: OutOpt = None,
) -> None:
    """Diarization error rate with a 95% bootstrap CI over files (help: DER_HELP)."""
    from gapbench.cli.output import emit_score
    from gapbench.metrics.der import score_der

    result = score_der(
        ref,
        hyp,
        uem=uem,
        collar=collar,
        skip_overlap=skip_overlap,
        bootstrap=bootstrap,
        seed=seed,
        ci=not no_ci,
    )
    emit_score(result, fmt, out, title=f"DER  {hyp.name} vs {ref.name}")


DER_HELP = (
    "Diarization error rate (pyannote.metrics semantics: Hungarian mapping; corpus DER = summed "
    "components / summed reference speech) with a 95% bootstrap CI over files.\n\n"
    "der, missed, false_alarm and confusion are fractions of total reference speech; total and the "
    "'seconds' table are in seconds. Same-speaker overlapping hypothesis turns are counted twice, "
    "as pyannote does (md-eval merges them)."
)


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    score_app.command("der", help=DER_HELP)(score_der_cmd)
