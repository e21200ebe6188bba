"""pyannote.metrics as the reference for the DER tests (metrics/ and scoring/ share it)."""
from __future__ import annotations

import warnings
from pathlib import Path


def uris_in_order(path: Path) -> list[str]:
    return list(dict.fromkeys(line.split()[1] for line in path.read_text().splitlines() if line.strip()))


def pyannote_der(case_dir: Path, *, uem: bool, collar: float, skip_overlap: bool):
    """The reference: pyannote accumulating every reference file, in file order."""
    from pyannote.core import Annotation
    from pyannote.database.util import load_rttm, load_uem
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref = load_rttm(case_dir / "ref.rttm")
    hyp = load_rttm(case_dir / "hyp.rttm")
    uems = load_uem(case_dir / "all.uem") if uem else {}
    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
    per_file = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uri in uris_in_order(case_dir / "ref.rttm"):
            per_file[uri] = metric(
                ref[uri], hyp.get(uri, Annotation(uri=uri)), uem=uems.get(uri), detailed=True
            )
    return metric, per_file


def check_against_pyannote(result, metric, per_file) -> None:
    acc = metric[:]
    assert result.metrics["der"].value == abs(metric)
    assert result.metrics["total"].value == acc["total"]
    sec = result.groups["seconds"]
    for ours, theirs in [
        ("missed", "missed detection"),
        ("false_alarm", "false alarm"),
        ("confusion", "confusion"),
        ("correct", "correct"),
        ("total", "total"),
    ]:
        assert sec[ours].value == acc[theirs]
    for ours, theirs in [
        ("missed", "missed detection"),
        ("false_alarm", "false alarm"),
        ("confusion", "confusion"),
    ]:
        assert result.metrics[ours].value == acc[theirs] / acc["total"]
    assert [r["sample_id"] for r in result.records] == list(per_file)
    for rec in result.records:
        assert rec["der"] == per_file[rec["sample_id"]]["diarization error rate"]
        assert rec["missed"] == per_file[rec["sample_id"]]["missed detection"]
