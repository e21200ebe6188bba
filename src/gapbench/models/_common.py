"""Helpers the hub adapters share: option parsing, file fingerprints, image and audio conversion.

Options arrive from the command line as strings (``--option threshold=0.3``) or from Python as
values; :func:`opt_float` / :func:`opt_int` / :func:`opt_bool` / :func:`opt_list` accept both, and
an unparseable value is one :class:`~gapbench.errors.InputError` line naming the option.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError

_DOC_FILES = {"README.md", ".gitattributes", "LICENSE", "LICENSE.txt"}


def opt_float(options: Mapping[str, Any], key: str, default: float | None) -> float | None:
    """``options[key]`` as a float (a string from the CLI or a number), else ``default``."""
    v = options.get(key, default)
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InputError(None, f"option {key!r}", "a number", v) from None


def opt_int(options: Mapping[str, Any], key: str, default: int | None) -> int | None:
    """``options[key]`` as an int, else ``default``."""
    v = options.get(key, default)
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InputError(None, f"option {key!r}", "an integer", v) from None


def opt_bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
    """``options[key]`` as a bool (``true/false/1/0/yes/no`` strings accepted), else ``default``."""
    v = options.get(key, default)
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise InputError(None, f"option {key!r}", "true or false", v)


def opt_list(options: Mapping[str, Any], key: str) -> list[str] | None:
    """``options[key]`` as a list of strings: a list, or a comma-separated string."""
    v = options.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        return [p.strip() for p in v.split(",") if p.strip()]
    if isinstance(v, Iterable):
        return [str(p) for p in v]
    raise InputError(None, f"option {key!r}", "a comma-separated list", v)


def check_options(options: Mapping[str, Any], known: Iterable[str], uri: str) -> None:
    """A misspelt option is one line, not a silently ignored setting."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InputError(None, f"model {uri}", f"options among {', '.join(sorted(known))}", ", ".join(unknown))


def hash_files(paths: Iterable[Path], extra: Any = None) -> str:
    """blake2b over (relative name, size, contents) of ``paths`` in sorted order, plus ``extra``.

    Reading gigabytes of weights for every run's fingerprint costs seconds, so the digest is kept
    in ``<cache>/file-digests`` under the files' identity: path, size, inode, and modification and
    change times in nanoseconds (the change time moves on any write and cannot be set back, as
    ``cp -p`` or ``touch -d`` set the modification time). An unwritable cache only costs the rehash."""
    files = sorted(paths)
    ident = [(str(p.resolve()), s.st_size, s.st_ino, s.st_dev, s.st_mtime_ns, s.st_ctime_ns)
             for p, s in ((p, p.stat()) for p in files)]
    key = hashlib.blake2b(repr((ident, extra)).encode(), digest_size=16).hexdigest()
    store = _digest_dir() / key
    try:
        known = store.read_text().strip()
        if len(known) == 32:
            return known
    except OSError:
        pass
    h = hashlib.blake2b(digest_size=16)
    for p, (_, size, *_rest) in zip(files, ident):
        h.update(p.name.encode() + b"\0" + str(size).encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    if extra is not None:
        h.update(repr(extra).encode())
    digest = h.hexdigest()
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        tmp = store.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(digest)
        os.replace(tmp, store)
    except OSError:
        pass
    return digest


def _digest_dir() -> Path:
    from gapbench.core.cache_dirs import user_cache

    return user_cache("file-digests")


def model_files(directory: Path) -> list[Path]:
    """The files of a model directory that determine its outputs (config, weights, processors)."""
    return [p for p in directory.rglob("*") if p.is_file() and p.name not in _DOC_FILES
            and not any(part.startswith(".") for part in p.relative_to(directory).parts)]


def to_rgb_uint8(image: Any, who: str) -> np.ndarray:
    """An ``H x W x 3`` uint8 RGB array from a grey, RGB or RGBA array (float images in [0, 1])."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(who, None, "an H x W or H x W x {1,3,4} image array", f"shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.clip(arr * 255.0 if arr.max(initial=0) <= 1.0 else arr, 0, 255).round()
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def audio_mono(audio: Any, rate: int, who: str) -> np.ndarray:
    """``Audio`` -> mono float32 at ``rate`` Hz (:meth:`gapbench.core.media.Audio.mono`: channels
    averaged, integer PCM scaled by its type's range, soxr resampling), refusing what is not a clip."""
    if not isinstance(audio, Audio):
        raise InputError(who, None, "an Audio input (samples, sample_rate)", type(audio).__name__)
    shape = np.asarray(audio.samples).shape
    if len(shape) not in (1, 2) or not shape[0]:
        raise InputError(who, None, "a non-empty mono or (n, channels) clip", f"shape {shape}")
    return audio.mono(rate).astype(np.float32)
