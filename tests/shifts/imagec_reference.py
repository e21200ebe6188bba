"""Load the reference ImageNet-C implementation (``imagecorruptions`` 1.1.2) on today's stack.

The package is installed with ``pip install --no-deps imagecorruptions==1.1.2``. It was written
for numpy 1.x and scikit-image < 0.19, so three shims make it import and run unchanged:

* ``pkg_resources.resource_filename`` (gone with setuptools >= 81): a stub resolving next to the module;
* ``np.float_`` (removed in numpy 2): an alias of ``np.float64``;
* ``skimage.filters.gaussian(multichannel=True)`` (removed in scikit-image 0.19): mapped to
  ``channel_axis=-1``.

The reference draws from numpy's global stream; callers seed it with ``np.random.seed``.
"""
from __future__ import annotations

import os
import sys
import types
import warnings
from typing import Any

import numpy as np


def _install_shims() -> None:
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # type: ignore[attr-defined]
    try:
        import pkg_resources  # noqa: F401
    except Exception:  # setuptools >= 81 (or absent): a stub with the one function used
        stub = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            mod = sys.modules[package]
            return os.path.join(os.path.dirname(mod.__file__ or ""), name)

        stub.resource_filename = resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = stub
    import skimage.filters

    if not getattr(skimage.filters.gaussian, "_gapbench_shim", False):
        original = skimage.filters.gaussian

        def gaussian(image: Any, *args: Any, multichannel: bool | None = None, **kw: Any) -> Any:
            if multichannel:
                kw.setdefault("channel_axis", -1)
            return original(image, *args, **kw)

        gaussian._gapbench_shim = True  # type: ignore[attr-defined]
        skimage.filters.gaussian = gaussian


def load_reference() -> types.ModuleType | None:
    """The shimmed ``imagecorruptions`` package, or None when it (or its dependencies) are absent."""
    try:
        _install_shims()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import imagecorruptions
            import imagecorruptions.corruptions as corr
    except Exception:
        return None
    # the module did ``from skimage.filters import gaussian`` before the shim could matter
    import skimage.filters

    corr.gaussian = skimage.filters.gaussian
    return imagecorruptions


def reference_corrupt(image: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """The reference output for one image (seeding numpy's global stream, as the reference needs)."""
    ref = load_reference()
    if ref is None:
        raise RuntimeError("imagecorruptions 1.1.2 is not importable")
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ref.corrupt(image, corruption_name=name, severity=severity)
