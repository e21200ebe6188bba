"""Fixtures of the image shift tests: the reference's recorded outputs and the live reference."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def imagec_fixtures() -> dict[str, np.ndarray]:
    """Everything ``make_image_fixtures.py`` recorded from imagecorruptions 1.1.2."""
    with np.load(HERE / "image_fixtures.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="session")
def reference_module():  # noqa: ANN201
    """The shimmed imagecorruptions package, or a skip saying why it is missing."""
    from imagec_reference import load_reference

    ref = load_reference()
    if ref is None:
        pytest.skip("imagecorruptions 1.1.2 not importable (pip install --no-deps imagecorruptions==1.1.2)")
    return ref
