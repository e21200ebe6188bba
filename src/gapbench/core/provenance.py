"""Where a run came from: versions, git commit, seed, config hash, hardware, host and time.

Nothing heavy is imported: library versions come from ``importlib.metadata``; git and
``nvidia-smi`` run with short timeouts and are cached per process, so a call costs well under
50 ms after the first (and the first is typically under 50 ms too).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

#: distributions whose versions are recorded when installed (distribution names, not modules)
KEY_LIBRARIES = (
    "numpy",
    "scipy",
    "jiwer",
    "faster-coco-eval",
    "pycocotools",
    "pyannote.metrics",
    "scikit-learn",
    "torch",
    "transformers",
    "onnxruntime",
)

GIT_TIMEOUT_S = 2.0
NVIDIA_SMI_TIMEOUT_S = 3.0


def collect_provenance(*, seed: int, config: dict, model_fingerprint: str | None = None) -> dict[str, Any]:
    """Everything needed to tell two runs apart or reproduce one, as a JSON-able dict.

    Keys: ``gapbench_version``, ``python_version``, ``python_implementation``, ``libraries``
    (name -> version, installed ones only), ``git_hash`` and ``git_dirty`` (None outside a git
    checkout), ``seed``, ``config_hash`` (sha256 of the canonical JSON of ``config``),
    ``model_fingerprint``, ``hardware`` (platform, machine, processor, cpu_count, memory_bytes,
    gpus), ``hostname``, ``timestamp`` (UTC, ISO 8601).
    """
    git_hash, git_dirty = _git_state()
    return {
        "gapbench_version": _gapbench_version(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "libraries": library_versions(),
        "git_hash": git_hash,
        "git_dirty": git_dirty,
        "seed": seed,
        "config_hash": config_hash(config),
        "model_fingerprint": model_fingerprint,
        "hardware": hardware(),
        "hostname": socket.gethostname(),
        "timestamp": datetime.now(UTC).isoformat(),
    }


# --------------------------------------------------------------------------------------------


def _canonical_default(o: Any) -> Any:
    if hasattr(o, "tolist") and callable(o.tolist):  # numpy arrays and scalars
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, datetime):
        return o.isoformat()
    return str(o)


def _normalise_floats(o: Any) -> Any:
    """NaN/Infinity as strings (canonical JSON has neither); tuples as lists."""
    if isinstance(o, float) and not math.isfinite(o):
        return repr(o)
    if isinstance(o, dict):
        return {str(k): _normalise_floats(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_normalise_floats(v) for v in o]
    return o


def canonical_json(config: Any) -> str:
    """Keys sorted, no whitespace, UTF-8 kept: the same config always gives the same text."""
    return json.dumps(
        _normalise_floats(config),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_canonical_default,
    )


def config_hash(config: Any) -> str:
    """sha256 (hex) of the canonical JSON of ``config``; independent of key order."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def _gapbench_version() -> str:
    try:
        from gapbench import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return _dist_version("gapbench") or "unknown"


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - broken metadata must not break a run
        return None


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of :data:`KEY_LIBRARIES` that are installed, without importing them."""
    out: dict[str, str] = {}
    for name in KEY_LIBRARIES:
        v = _dist_version(name)
        if v is not None:
            out[name] = v
    return out


def _source_root() -> Path | None:
    """The top of the git checkout holding gapbench's source, or None (e.g. a wheel install)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / ".git").exists():
            return parent
        if parent.name == "site-packages":
            return None
    return None


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    root = _source_root()
    if root is None or shutil.which("git") is None:
        return None, None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, env=env, check=False,
        )
        if head.returncode != 0:
            return None, None
        git_hash = head.stdout.strip() or None
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, env=env, check=False,
        )
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
        return git_hash, dirty
    except (OSError, subprocess.SubprocessError):
        return None, None


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def _gpus() -> tuple[str, ...] | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-L"], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    gpus = tuple(line.strip() for line in out.stdout.splitlines() if line.strip().startswith("GPU"))
    return gpus or None


def _processor() -> str:
    proc = platform.processor()
    if proc and proc not in ("x86_64", "aarch64", "arm64", "i386"):
        return proc
    try:  # Linux: platform.processor() is often just the machine name
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return proc or platform.machine()


@functools.lru_cache(maxsize=1)
def _static_hardware() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "processor": _processor(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
    }


def hardware() -> dict[str, Any]:
    """Platform, CPU, memory and GPUs (``nvidia-smi -L`` lines, None without one)."""
    gpus = _gpus()
    return {**_static_hardware(), "gpus": list(gpus) if gpus is not None else None}


def new_run_id() -> str:
    """``YYYYmmdd-HHMMSS-<8 hex>`` (UTC): sorts by time, unique across machines."""
    import uuid
    from datetime import datetime

    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
