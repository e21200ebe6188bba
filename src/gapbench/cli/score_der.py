"""``gapbench score der`` and ``gapbench compare der`` (pyannote.metrics engine)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.options import BootstrapOpt, CollarOpt, FormatOpt, NoCiOpt, OutOpt, OutputFormat, SeedOpt

UemOpt = Annotated[Path | None, typer.Option(
    "--uem", metavar="UEM", help="UEM file (file chan start end). Without it each file's scored region is "
    "the union of reference and hypothesis extents, as pyannote.metrics approximates it.")]
SkipOverlapOpt = Annotated[bool, typer.Option(
    "--skip-overlap", help="do not score regions where the reference has 2+ speakers")]
AllowEmptyOpt = Annotated[bool, typer.Option(
    "--allow-empty", help="accept a hypothesis with no SPEAKER line (the system really produced nothing)")]

DER_HELP = (
    "Diarization error rate (pyannote.metrics semantics: Hungarian mapping; corpus DER = summed "
    "components / summed reference speech) with a 95% bootstrap CI over files.\n\n"
    "der, missed, false_alarm and confusion are fractions of total reference speech; total and the "
    "'seconds' table are in seconds. Same-speaker overlapping hypothesis turns are counted twice, "
    "as pyannote does (md-eval merges them).\n\n"
    "Also jer (Jaccard error rate, DIHARD II), purity and coverage, as pyannote.metrics defines them "
    "(purity and coverage take no UEM, collar or overlap setting), with the same interval over files."
)
UNITS = {"der": "fraction", "missed": "fraction", "false_alarm": "fraction", "confusion": "fraction",
         "total": "seconds", "seconds": "seconds", "jer": "fraction", "purity": "fraction", "coverage": "fraction",
         "speakers": "count"}


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @score_app.command("der", help=DER_HELP)
    def score_der_cmd(
        ref: Annotated[Path, typer.Argument(help="reference RTTM")],
        hyp: Annotated[Path, typer.Argument(help="hypothesis RTTM")],
        uem: UemOpt = None,
        collar: CollarOpt = 0.0,
        skip_overlap: SkipOverlapOpt = False,
        allow_empty: AllowEmptyOpt = False,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        from gapbench.cli.render import emit_score, plural
        from gapbench.scoring.der import score_der

        result = score_der(ref, hyp, uem=uem, collar=collar, skip_overlap=skip_overlap, allow_empty=allow_empty,
                           bootstrap=bootstrap, seed=seed, ci=not no_ci)
        emit_score(result, fmt, out, title=f"DER of {hyp.name} against {ref.name} "
                   f"({plural(result.info['files'], 'file')})", units=UNITS)

    @compare_app.command("der")
    def compare_der_cmd(
        ref: Annotated[Path, typer.Argument(help="reference RTTM")],
        first: Annotated[Path, typer.Argument(help="the first system's hypothesis RTTM")],
        second: Annotated[Path, typer.Argument(help="the second system's hypothesis RTTM")],
        uem: UemOpt = None,
        collar: CollarOpt = 0.0,
        skip_overlap: SkipOverlapOpt = False,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        """Paired bootstrap over files of DER(first) - DER(second), with its 95% CI and p-value."""
        from gapbench.cli.render import emit_compare
        from gapbench.scoring.der import compare_der

        emit_compare(compare_der(ref, first, second, uem=uem, collar=collar, skip_overlap=skip_overlap,
                                 bootstrap=bootstrap, seed=seed, ci=not no_ci), fmt, out)
