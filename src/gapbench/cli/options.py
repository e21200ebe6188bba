"""The option blocks every command shares, each stated once, with its validation.

Choices come from the library's own lists (normalisers, COCO IoU types), so the CLI and the
library never disagree. A bad value is Typer's one-line usage error (exit 2).
"""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from gapbench.core.coco_format import IOU_TYPES
from gapbench.text_normalizers import NORMALIZER_NAMES


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


Normalizer = Enum("Normalizer", {n: n for n in NORMALIZER_NAMES}, type=str)  # type: ignore[misc]
IouType = Enum("IouType", {n: n for n in IOU_TYPES}, type=str)  # type: ignore[misc]


def _resamples(value: int) -> int:
    if value < 1:
        raise typer.BadParameter(f"{value}: must be an integer >= 1 (use --no-ci for no interval)")
    return value


def _seconds(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"{value}: must be a finite number of seconds >= 0")
    return value


FormatOpt = Annotated[OutputFormat, typer.Option(
    "--format", "-f", help="table for people; json for machines (standard output then holds only the JSON)")]
BootstrapOpt = Annotated[int, typer.Option(
    "--bootstrap", metavar="N", callback=_resamples, help="bootstrap resamples for the 95% CI (N >= 1)")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, metavar="S",
                                      help="seed for resampling and shifts (results are reproducible)")]
NoCiOpt = Annotated[bool, typer.Option("--no-ci", help="no confidence intervals (and no CI column)")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="also write the JSON result to this file")]
NormalizerOpt = Annotated[Normalizer, typer.Option(
    "--normalizer", "-n",
    help="none: text as given (jiwer's numbers); basic: lower-case, delete punctuation (Unicode P*), "
    "collapse spaces (jiwer's transforms); whisper: openai-whisper's EnglishTextNormalizer")]
IouTypeOpt = Annotated[IouType, typer.Option("--iou-type", help="what is matched: boxes, masks or keypoints (OKS)")]
CollarOpt = Annotated[float, typer.Option(
    "--collar", metavar="SECONDS", callback=_seconds,
    help="seconds forgiven on EACH side of every reference boundary (md-eval/dscore -c); "
    "pyannote's collar is the total width, so --collar 0.25 = pyannote collar=0.5")]
StoreOpt = Annotated[str | None, typer.Option(
    "--store", metavar="URL",
    help="results store: a SQLite path or sqlite:///PATH, or postgresql://USER@HOST/DB "
    "(default: $GAPBENCH_STORE, else SQLite in the user data dir)")]
ModelOptionOpt = Annotated[list[str] | None, typer.Option(
    "--model-option", metavar="KEY=VALUE",
    help="repeatable: an adapter option (device=cuda, threshold=0.3, dtype=bfloat16, prompt_template=...); "
    "see `gapbench models`")]
BaseUrlOpt = Annotated[str | None, typer.Option(
    "--base-url", metavar="URL", help="openai: models: the server's base URL (e.g. http://127.0.0.1:8000/v1)")]
