"""Shifts on files: ``gapbench shifts apply`` and saving shifted inputs for inspection.

Images are read with Pillow (any format it reads) and written as the output's extension says;
audio with soundfile, keeping the input's format and subtype (float stays float). A shift given
without a severity or parameters runs at ladder level 3, and the message says so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.errors import InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
DEFAULT_LEVEL = 3


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(path, None, "an image Pillow can read", str(exc).splitlines()[0]) from None


def save_input(x: Any, stem: Path) -> Path:
    """Write a (shifted) input for a person to look at: PNG for images, WAV for audio."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(x, Audio):
        from gapbench.shifts.audio_io import write_audio

        return write_audio(stem.with_suffix(".wav"), Audio(np.asarray(x.samples), x.sample_rate))
    arr = np.asarray(x)
    if arr.dtype != np.uint8:  # e.g. digits' 0..16 floats: stretch to the byte range to be seen
        top = float(arr.max()) if arr.size else 1.0
        arr = np.clip(arr / (top if top > 0 else 1.0) * 255.0, 0, 255).astype(np.uint8)
    from PIL import Image

    path = stem.with_suffix(".png")
    Image.fromarray(arr).save(path)
    return path


def apply_to_file(shift: str, src: Path, dst: Path, *, severity: int | None = None, seed: int = 0,
                  noise_dir: Path | None = None) -> str:
    """Apply one shift (``FAMILY`` or ``FAMILY:name=value,...``) to one file; returns what was done."""
    from gapbench.runner.sweep import parse_shift

    if not Path(src).is_file():
        raise FileNotFoundError(2, "No such file or directory", str(src))
    name, sep, _ = shift.partition(":")
    level = severity if (severity is not None or sep) else DEFAULT_LEVEL
    cells = parse_shift(shift, (level,) if level is not None else ())
    if len(cells) != 1:
        raise InputError(None, f"shift {shift!r}", "exactly one cell (one family, one value per parameter)",
                         f"{len(cells)} cells")
    cell = cells[0]
    from gapbench.shifts.registry import get_family

    fam = get_family(cell.shift)
    params = dict(cell.params)
    if noise_dir is not None:
        params["noise_dir"] = str(noise_dir)
    if fam.modality == "audio":
        from gapbench.shifts.audio_io import read_audio, report_of, write_audio

        audio, info = read_audio(src)
        out, _ = fam.apply(audio, None, params, seed)
        write_audio(dst, out, like=info)
        report = report_of(out)
        extra = f"; {report.clipped} samples clipped" if report is not None and report.clipped else ""
    else:
        image = _read_image(Path(src))
        out, _ = fam.apply(image, None, params, seed)
        from PIL import Image

        Image.fromarray(np.asarray(out).astype(np.uint8)).save(dst)
        extra = ""
    how = f"severity {cell.severity}" if cell.severity is not None else "parameters"
    if severity is None and not sep:
        how += " (no --severity given: level 3)"
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "noise_dir")
    return f"{fam.name} at {how} [{shown}], seed {seed}: {src} -> {dst}{extra}"
