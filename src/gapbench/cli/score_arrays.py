"""``gapbench score|compare seg`` (mIoU, mmseg semantics) and ``score|compare topk`` (sklearn top-k)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.options import BootstrapOpt, FormatOpt, NoCiOpt, OutOpt, OutputFormat, SeedOpt

NumClassesOpt = Annotated[int, typer.Option("--num-classes", min=1, max=65536, metavar="C",
                                            help="number of classes C (labels 0..C-1, at most 65,536)")]
IgnoreOpt = Annotated[int, typer.Option("--ignore-index", help="GT value that is not scored")]
ReduceZeroOpt = Annotated[bool, typer.Option(
    "--reduce-zero-label", help="mmseg rule on GT: 0 -> ignored, other labels minus 1 (ADE20K)")]
KOpt = Annotated[str, typer.Option("--k", metavar="K[,K...]", help="comma-separated k values")]

SEG_HELP = (
    "mIoU, mAcc, aAcc with mmsegmentation IoUMetric semantics (areas summed over the dataset; "
    "classes absent from GT and prediction are left out of the means), 95% CI over images. "
    "Values are fractions (mmseg prints percentages)."
)
TOPK_HELP = (
    "Top-k accuracy identical to sklearn.metrics.top_k_accuracy_score (ties: the higher class "
    "index ranks first; (N,) scores are the binary case), with Wilson 95% intervals."
)


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        ks = []
    if not ks or any(k < 1 for k in ks):
        raise typer.BadParameter(f"{text!r}: comma-separated positive integers such as 1,5", param_hint="--k")
    return ks


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @score_app.command("seg", help=SEG_HELP)
    def score_seg_cmd(
        gt: Annotated[Path, typer.Argument(help="ground-truth masks .npy, integer (N, H, W) or (H, W)")],
        pred: Annotated[Path, typer.Argument(help="predicted masks .npy, same shape as GT")],
        num_classes: NumClassesOpt,
        ignore_index: IgnoreOpt = 255,
        reduce_zero_label: ReduceZeroOpt = False,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        from gapbench.cli.render import emit_score
        from gapbench.scoring.arrays import score_seg

        result = score_seg(gt, pred, num_classes=num_classes, ignore_index=ignore_index,
                           reduce_zero_label=reduce_zero_label, bootstrap=bootstrap, seed=seed, ci=not no_ci)
        emit_score(result, fmt, out, title=f"segmentation of {pred.name} against {gt.name} "
                                           f"({result.info['images']} images)")

    @score_app.command("topk", help=TOPK_HELP)
    def score_topk_cmd(
        logits: Annotated[Path, typer.Argument(help="scores .npy: float (N, C), or (N,) positive-class scores")],
        labels: Annotated[Path, typer.Argument(help="labels .npy: integer (N,) in [0, C)")],
        k: KOpt = "1,5",
        fmt: FormatOpt = OutputFormat.table,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        from gapbench.cli.render import emit_score
        from gapbench.scoring.arrays import score_topk

        result = score_topk(logits, labels, k=_parse_ks(k), ci=not no_ci)
        emit_score(result, fmt, out, title=f"top-k of {logits.name} ({result.info['samples']} samples)")

    @compare_app.command("seg")
    def compare_seg_cmd(
        gt: Annotated[Path, typer.Argument(help="ground-truth masks .npy")],
        first: Annotated[Path, typer.Argument(help="the first system's predicted masks .npy")],
        second: Annotated[Path, typer.Argument(help="the second system's predicted masks .npy")],
        num_classes: NumClassesOpt,
        ignore_index: IgnoreOpt = 255,
        reduce_zero_label: ReduceZeroOpt = False,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        """Paired bootstrap over images of mIoU(first) - mIoU(second), with its 95% CI and p-value."""
        from gapbench.cli.render import emit_compare
        from gapbench.scoring.arrays import compare_seg

        emit_compare(compare_seg(gt, first, second, num_classes=num_classes, ignore_index=ignore_index,
                                 reduce_zero_label=reduce_zero_label, bootstrap=bootstrap, seed=seed,
                                 ci=not no_ci), fmt, out)

    @compare_app.command("topk")
    def compare_topk_cmd(
        first: Annotated[Path, typer.Argument(help="the first system's scores .npy")],
        second: Annotated[Path, typer.Argument(help="the second system's scores .npy")],
        labels: Annotated[Path, typer.Argument(help="labels .npy")],
        k: Annotated[int, typer.Option("--k", min=1, help="the k of top-k")] = 1,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        """Paired bootstrap over samples of top-k(first) - top-k(second), with its 95% CI and p-value."""
        from gapbench.cli.render import emit_compare
        from gapbench.scoring.arrays import compare_topk

        emit_compare(compare_topk(first, second, labels, k=k, bootstrap=bootstrap, seed=seed, ci=not no_ci),
                     fmt, out)
