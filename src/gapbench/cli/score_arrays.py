"""``gapbench score seg`` (mIoU, mmseg semantics) and ``gapbench score topk`` (sklearn top-k)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.output import BootstrapOpt, FormatOpt, NoCiOpt, OutOpt, OutputFormat, SeedOpt


def score_seg_cmd(
    gt: Annotated[Path, typer.Argument(help="ground-truth masks .npy, integer (N, H, W) or (H, W)")],
    pred: Annotated[Path, typer.Argument(help="predicted masks .npy, same shape as GT")],
    num_classes: Annotated[int, typer.Option("--num-classes", help="number of classes C (labels 0..C-1)")],
    ignore_index: Annotated[int, typer.Option("--ignore-index", help="GT value that is not scored")] = 255,
    reduce_zero_label: Annotated[
        bool,
        typer.Option(
            "--reduce-zero-label", help="mmseg rule on GT: 0 -> ignored, other labels minus 1 (ADE20K)"
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    no_ci: NoCiOpt = False,
    out: OutOpt = None,
) -> None:
    """mIoU / mAcc / aAcc, mmseg IoUMetric semantics (help: SEG_HELP)."""
    from gapbench.cli.output import emit_score
    from gapbench.metrics.segmentation import score_seg

    result = score_seg(
        gt,
        pred,
        num_classes=num_classes,
        ignore_index=ignore_index,
        reduce_zero_label=reduce_zero_label,
        bootstrap=bootstrap,
        seed=seed,
        ci=not no_ci,
    )
    emit_score(result, fmt, out, title=f"segmentation  {pred.name} vs {gt.name}")


def _parse_ks(text: str) -> list[int]:
    from gapbench.errors import InputError

    try:
        ks = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        ks = []
    if not ks or any(k < 1 for k in ks):
        raise InputError("--k", None, "comma-separated positive integers such as 1,5", text)
    return ks


def score_topk_cmd(
    logits: Annotated[Path, typer.Argument(help="scores .npy: float (N, C), or (N,) positive-class scores")],
    labels: Annotated[Path, typer.Argument(help="labels .npy: integer (N,) in [0, C)")],
    k: Annotated[str, typer.Option("--k", help="comma-separated k values")] = "1,5",
    fmt: FormatOpt = OutputFormat.table,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    no_ci: NoCiOpt = False,
    out: OutOpt = None,
) -> None:
    """Top-k accuracy as sklearn computes it (help: TOPK_HELP)."""
    from gapbench.cli.output import emit_score
    from gapbench.metrics.topk import score_topk

    result = score_topk(logits, labels, k=_parse_ks(k), bootstrap=bootstrap, seed=seed, ci=not no_ci)
    emit_score(result, fmt, out, title=f"top-k  {logits.name}")


SEG_HELP = (
    "mIoU, mAcc, aAcc with mmsegmentation IoUMetric semantics (areas summed over the dataset; "
    "classes absent from GT and prediction are left out of the means), 95% CI over images. "
    "Values are fractions (mmseg prints percentages)."
)
TOPK_HELP = (
    "Top-k accuracy identical to sklearn.metrics.top_k_accuracy_score (ties: the higher class "
    "index ranks first; (N,) scores are the binary case), with Wilson 95% intervals."
)


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    score_app.command("seg", help=SEG_HELP)(score_seg_cmd)
    score_app.command("topk", help=TOPK_HELP)(score_topk_cmd)
