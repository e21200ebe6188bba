"""Speech tests build the embedded corpora into a per-session temporary cache, never the user's."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def speech_cache(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("gapbench-cache")
    mp.setenv("GAPBENCH_CACHE_DIR", str(path))
    yield path
    mp.undo()
