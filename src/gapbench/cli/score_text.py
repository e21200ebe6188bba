"""``gapbench score wer|cer`` and ``gapbench compare wer|cer``: thin wrappers over
:mod:`gapbench.metrics.wer` (imported inside the commands so ``gapbench --help`` stays fast)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.output import (
    BootstrapOpt,
    FormatOpt,
    NoCiOpt,
    OutOpt,
    OutputFormat,
    SeedOpt,
    emit_compare,
    emit_score,
)


class NormalizerName(str, Enum):
    none = "none"
    basic = "basic"
    whisper = "whisper"


NormalizerOpt = Annotated[
    NormalizerName,
    typer.Option(
        "--normalizer",
        "-n",
        help="none: text as given (jiwer's numbers); basic: lower-case, delete punctuation (Unicode P*), "
        "collapse spaces (jiwer's transforms); "
        "whisper: openai-whisper's EnglishTextNormalizer",
    ),
]
PairsArg = Annotated[
    Path | None,
    typer.Argument(help="JSON Lines, one {\"id\"?, \"ref\", \"hyp\"} object a line", show_default=False),
]
RefOpt = Annotated[Path | None, typer.Option("--ref", help="Kaldi text file `utt_id words...` (references)")]
HypOpt = Annotated[Path | None, typer.Option("--hyp", help="Kaldi text file `utt_id words...` (hypotheses)")]
SystemArg = Annotated[Path, typer.Argument(help="pairs JSONL of one system", show_default=False)]


def _score(unit: str, pairs: Path | None, ref: Path | None, hyp: Path | None, normalizer: NormalizerName,
           fmt: OutputFormat, bootstrap: int, seed: int, no_ci: bool, out: Path | None) -> None:
    from gapbench.errors import InputError
    from gapbench.metrics import wer

    if pairs is not None and (ref is not None or hyp is not None):
        raise InputError(None, None, "either PAIRS.jsonl or --ref/--hyp, not both")
    if pairs is None and (ref is None or hyp is None):
        raise InputError(None, None, "PAIRS.jsonl, or both --ref REF.txt and --hyp HYP.txt")
    fn = wer.score_wer if unit == "word" else wer.score_cer
    kwargs = dict(normalizer=normalizer.value, bootstrap=bootstrap, seed=seed, ci=not no_ci)
    result = fn(pairs, **kwargs) if pairs is not None else fn(ref_file=ref, hyp_file=hyp, **kwargs)
    title = f"{result.kind.upper()} (normalizer: {normalizer.value}, {result.info['utterances']} utterances)"
    emit_score(result, fmt, out, title=title)


def _compare(unit: str, a: Path, b: Path, normalizer: NormalizerName, fmt: OutputFormat,
             bootstrap: int, seed: int, no_ci: bool, out: Path | None) -> None:
    from gapbench.metrics import wer

    fn = wer.compare_wer if unit == "word" else wer.compare_cer
    result = fn(a, b, normalizer=normalizer.value, bootstrap=bootstrap, seed=seed, ci=not no_ci)
    emit_compare(result, fmt, out)


def _add_commands(score_app: typer.Typer, compare_app: typer.Typer, unit: str, name: str, label: str) -> None:
    """``score NAME`` and ``compare NAME`` for one unit (words or characters)."""

    def score_cmd(
        pairs: PairsArg = None,
        ref: RefOpt = None,
        hyp: HypOpt = None,
        normalizer: NormalizerOpt = NormalizerName.none,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        _score(unit, pairs, ref, hyp, normalizer, fmt, bootstrap, seed, no_ci, out)

    def compare_cmd(
        a: SystemArg,
        b: SystemArg,
        normalizer: NormalizerOpt = NormalizerName.none,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        _compare(unit, a, b, normalizer, fmt, bootstrap, seed, no_ci, out)

    score_app.command(
        name, help=f"Corpus {label} error rate (= jiwer.{name}), S/D/I/H counts and a bootstrap 95% CI."
    )(score_cmd)
    upper = name.upper()
    compare_app.command(
        name, help=f"Paired bootstrap {upper}(A) - {upper}(B) on the same references, with p-value."
    )(compare_cmd)


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    _add_commands(score_app, compare_app, "word", "wer", "word")
    _add_commands(score_app, compare_app, "char", "cer", "character")
