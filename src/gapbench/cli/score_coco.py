"""``gapbench score coco GT.json DT.json``: COCO mAP (pycocotools-identical) with 95% CIs."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.options import (
    BootstrapOpt,
    FormatOpt,
    IouType,
    IouTypeOpt,
    NoCiOpt,
    OutOpt,
    OutputFormat,
    SeedOpt,
)

IouThrsOpt = Annotated[str | None, typer.Option(
    "--iou-thrs", metavar="T1,T2,...", help="COCOeval params.iouThrs (default 0.50:0.05:0.95)")]
MaxDetsOpt = Annotated[str | None, typer.Option(
    "--max-dets", metavar="M1,M2,M3", help="COCOeval params.maxDets (default 1,10,100; keypoints 20)")]
AreaRangeOpt = Annotated[list[str] | None, typer.Option(
    "--area-range", metavar="LABEL=LOW:HIGH",
    help="repeatable: change one of COCOeval's area ranges (small, medium, large; LOW/HIGH in pixels^2)")]
KptSigmasOpt = Annotated[str | None, typer.Option(
    "--kpt-sigmas", metavar="S1,S2,...", help="with --iou-type keypoints: per-keypoint OKS sigmas "
    "(default the 17 COCO person sigmas)")]


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    @score_app.command("coco")
    def score_coco_cmd(
        gt: Annotated[Path, typer.Argument(help="COCO ground-truth JSON (images, annotations, categories)")],
        dt: Annotated[Path, typer.Argument(help="COCO results JSON: a list of detections")],
        iou_type: IouTypeOpt = IouType.bbox,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
        iou_thrs: IouThrsOpt = None,
        max_dets: MaxDetsOpt = None,
        area_range: AreaRangeOpt = None,
        kpt_sigmas: KptSigmasOpt = None,
    ) -> None:
        """COCO AP/AR (the 12 pycocotools stats; 10 for keypoints) and per-class AP, with image-bootstrap 95% CIs."""
        from gapbench.cli.render import emit_score
        from gapbench.metrics.coco_params import parse_params
        from gapbench.scoring.coco import score_coco

        params = parse_params(iou_thrs, max_dets, area_range, kpt_sigmas)
        result = score_coco(gt, dt, iou_type=iou_type.value, bootstrap=bootstrap, seed=seed, ci=not no_ci,
                            params=params)
        emit_score(result, fmt, out, title=f"COCO {iou_type.value} ({result.info.get('images')} images)")

    @compare_app.command("coco")
    def compare_coco_cmd(
        gt: Annotated[Path, typer.Argument(help="COCO ground-truth JSON (images, annotations, categories)")],
        first: Annotated[Path, typer.Argument(help="the first system's COCO results JSON")],
        second: Annotated[Path, typer.Argument(help="the second system's COCO results JSON")],
        iou_type: IouTypeOpt = IouType.bbox,
        fmt: FormatOpt = OutputFormat.table,
        bootstrap: BootstrapOpt = 1000,
        seed: SeedOpt = 0,
        no_ci: NoCiOpt = False,
        out: OutOpt = None,
    ) -> None:
        """Paired bootstrap over images of AP(first) - AP(second), with its 95% CI and p-value."""
        from gapbench.cli.render import emit_compare
        from gapbench.scoring.coco import compare_coco

        emit_compare(compare_coco(gt, first, second, iou_type=iou_type.value, bootstrap=bootstrap, seed=seed,
                                  ci=not no_ci), fmt, out)
