"""One small build per session (paper and debiased designs), shared by the spectro tests."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("espeakng_loader", reason="spectro needs the [spectro] extra (espeakng-loader)")
pytest.importorskip("librosa", reason="spectro needs the [spectro] extra (librosa)")


@pytest.fixture(scope="session")
def paper_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gapbench.spectro.build import BuildParams, build

    out = tmp_path_factory.mktemp("spectro-paper")
    build(BuildParams(words=48, pool=5000, design="paper"), out, workers=1)
    return out


@pytest.fixture(scope="session")
def debiased_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gapbench.spectro.build import BuildParams, build

    out = tmp_path_factory.mktemp("spectro-debiased")
    build(BuildParams(words=48, pool=5000, design="debiased"), out, workers=2)
    return out
