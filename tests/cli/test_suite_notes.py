"""The suite's notes: each names its cell, and a note every cell has is said once."""
from types import SimpleNamespace

from gapbench.cli.suite import _job_notes


def _cell(shift: str, severity: float | None, notes: list[str]) -> SimpleNamespace:
    return SimpleNamespace(shift=shift, severity=severity, notes=notes)


def test_notes_name_their_cell_and_common_ones_come_once() -> None:
    results = [_cell("none", None, ["common", "few values"]), _cell("noise", 10, ["common", "common"]),
               _cell("noise", 0, ["common", "other"])]
    assert _job_notes(results) == ["(all cells) common", "none: few values", "noise@0: other"]


def test_one_cell_job_has_no_cell_label_and_no_repeats() -> None:
    assert _job_notes([_cell("none", None, ["a", "a", "b"])]) == ["a", "b"]
