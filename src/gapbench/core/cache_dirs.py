"""Where gapbench keeps what it builds once: ``$GAPBENCH_CACHE_DIR``, else the user cache directory."""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GAPBENCH_CACHE_DIR"


def user_cache(sub: str = "") -> Path:
    """``$GAPBENCH_CACHE_DIR/<sub>`` or ``platformdirs.user_cache_dir("gapbench")/<sub>`` (not created)."""
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env)
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("gapbench"))
    return root / sub if sub else root
