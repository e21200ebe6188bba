"""RTTM speaker turns and UEM evaluation maps: parsing with line-exact errors.

RTTM (NIST Rich Transcription Time Marked), one turn per line::

    SPEAKER <file> <chan> <start> <dur> <NA> <NA> <speaker> <NA> <NA>

* Blank lines and lines starting with ``;;`` (NIST comments) or ``#`` are skipped.
* Only ``SPEAKER`` lines are turns; every other type (``SPKR-INFO``, ``LEXEME``, ``NOSCORE``...)
  is ignored, as pyannote.database's ``load_rttm`` and md-eval do.
* dscore requires exactly 10 fields. We need only fields 1-8 and their positions are fixed, so a
  ``SPEAKER`` line with at least 8 fields is accepted (9-field files written by some tools, or
  11-field ones with an extra slot, are unambiguous); fewer than 8 is an error.
* The channel is not used: turns are keyed by file id, like dscore and pyannote.
* ``start`` and ``dur`` must be finite numbers, ``start >= 0`` and ``dur >= 0``. A zero-duration
  turn is kept here and contributes nothing to any score (pyannote drops empty segments).
* Identical or overlapping turns of the same speaker are kept as separate turns (as
  pyannote.database does); see :mod:`gapbench.metrics.der` for what that means for DER.

UEM, one scored region per line: ``<file> <chan> <start> <end>`` (several lines per file allowed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from gapbench.errors import InputError

RTTM_MIN_FIELDS = 8  # SPEAKER file chan start dur ortho stype speaker (conf slat optional)


@dataclass(frozen=True)
class Turn:
    """One speaker turn in seconds; ``line`` is the 1-based source line (0 when not from a file)."""

    start: float
    end: float
    speaker: str
    line: int = 0

    @property
    def duration(self) -> float:
        return self.end - self.start


def _lines(path: str | PathLike[str]) -> list[str]:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(p, None, "a UTF-8 text file", f"undecodable byte at offset {exc.start}") from None


def _skip(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith(";;") or s.startswith("#")


def _number(text: str, path: str | PathLike[str], lineno: int, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(path, lineno, f"a number for {field}", text) from None
    if not math.isfinite(value):
        raise InputError(path, lineno, f"a finite number for {field}", text)
    return value


def parse_rttm_lines(lines: list[str], path: str | PathLike[str] = "<rttm>") -> dict[str, list[Turn]]:
    """``{file_id: [Turn, ...]}`` in file order; raises :class:`InputError` on a bad line."""
    turns: dict[str, list[Turn]] = {}
    for lineno, line in enumerate(lines, start=1):
        if _skip(line):
            continue
        fields = line.split()
        if fields[0] != "SPEAKER":
            continue  # other RTTM types carry no speaker turns
        if len(fields) < RTTM_MIN_FIELDS:
            raise InputError(
                path,
                lineno,
                "'SPEAKER file chan start dur <NA> <NA> speaker <NA> <NA>' (10 fields, at least 8)",
                line.strip(),
            )
        start = _number(fields[3], path, lineno, "start (field 4)")
        dur = _number(fields[4], path, lineno, "duration (field 5)")
        if start < 0:
            raise InputError(path, lineno, "a non-negative start time", fields[3])
        if dur < 0:
            raise InputError(path, lineno, "a non-negative duration", fields[4])
        turns.setdefault(fields[1], []).append(Turn(start, start + dur, fields[7], lineno))
    return turns


def read_rttm(path: str | PathLike[str]) -> dict[str, list[Turn]]:
    """Read an RTTM file into ``{file_id: [Turn, ...]}`` (see the module docstring for rules)."""
    return parse_rttm_lines(_lines(path), path)


def parse_uem_lines(
    lines: list[str], path: str | PathLike[str] = "<uem>"
) -> dict[str, list[tuple[float, float]]]:
    """``{file_id: [(start, end), ...]}``; raises :class:`InputError` on a bad line."""
    regions: dict[str, list[tuple[float, float]]] = {}
    for lineno, line in enumerate(lines, start=1):
        if _skip(line):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise InputError(path, lineno, "'file chan start end' (4 fields)", line.strip())
        start = _number(fields[2], path, lineno, "start (field 3)")
        end = _number(fields[3], path, lineno, "end (field 4)")
        if start < 0:
            raise InputError(path, lineno, "a non-negative start time", fields[2])
        if end < start:
            raise InputError(path, lineno, f"end >= start ({start:g})", fields[3])
        regions.setdefault(fields[0], []).append((start, end))
    return regions


def read_uem(path: str | PathLike[str]) -> dict[str, list[tuple[float, float]]]:
    """Read a UEM file into ``{file_id: [(start, end), ...]}``."""
    return parse_uem_lines(_lines(path), path)
