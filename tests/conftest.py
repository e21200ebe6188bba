"""Shared fixtures: the real public reference cases live in ``tests/data/reference`` (see its README)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("GAPBENCH_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
# what several test modules share: the reference implementations (pycocotools, pyannote, mmseg
# transcriptions) and small test doubles (capture_task, latency_sut)
sys.path.insert(0, str(Path(__file__).resolve().parent / "references"))


def _reference_data_dir() -> Path:
    env = os.environ.get("GAPBENCH_REFERENCE_DATA")
    return Path(env) if env else REPO / "tests" / "data" / "reference"


@pytest.fixture(scope="session")
def refdata() -> Path:
    """Path to the reference cases (COCO, RTTM, WER pairs) kept in the repository."""
    path = _reference_data_dir()
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}; set GAPBENCH_REFERENCE_DATA")
    return path
