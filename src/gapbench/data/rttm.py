"""RTTM speaker turns and UEM evaluation maps: parsing with line-exact errors.

RTTM (NIST Rich Transcription Time Marked), one turn per line::

    SPEAKER <file> <chan> <start> <dur> <NA> <NA> <speaker> <NA> <NA>

* Files are UTF-8 (a leading byte-order mark is ignored), lines end in ``\n`` or ``\r\n`` (see
  :mod:`gapbench.data.textfile`).
* Blank lines and lines starting with ``;;`` (NIST comments) or ``#`` are skipped.
* Only ``SPEAKER`` lines are turns; the other RTTM types of the NIST RT evaluation plan
  (``SPKR-INFO``, ``LEXEME``, ``NOSCORE``...) are ignored, as pyannote.database's ``load_rttm``
  and md-eval do. An unknown type (``speaker``, ``SPEAKR``) is refused rather than dropped.
* dscore requires exactly 10 fields. We need only fields 1-8 and their positions are fixed, so a
  ``SPEAKER`` line with at least 8 fields is accepted (9-field files written by some tools, or
  11-field ones with an extra slot, are unambiguous); fewer than 8 is an error.
* The channel is not used: turns are keyed by file id, like dscore and pyannote.
* ``start`` and ``dur`` must be plain decimal numbers (``12``, ``0.5``, ``.5``, ``1e-3``; ASCII
  digits only: no ``1_0``, which Python's ``float`` reads as 10, no ``nan``/``inf``, no
  non-ASCII digits), ``start >= 0`` and ``dur >= 0``. A zero-duration
  turn is kept here and contributes nothing to any score (pyannote drops empty segments).
* Identical or overlapping turns of the same speaker are kept as separate turns (as
  pyannote.database does); see :mod:`gapbench.metrics.der` for what that means for DER.

UEM, one scored region per line: ``<file> <chan> <start> <end>`` (several lines per file allowed),
with the same number, encoding, comment and line-ending rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from os import PathLike

from gapbench.data.textfile import read_lines
from gapbench.errors import InputError

RTTM_MIN_FIELDS = 8  # SPEAKER file chan start dur ortho stype speaker (conf slat optional)
# The RTTM types of the NIST RT-09 evaluation plan (md-eval's list); only SPEAKER carries turns.
RTTM_TYPES = frozenset({
    "SEGMENT", "NOSCORE", "NO_RT_METADATA", "LEXEME", "NON-LEX", "NON-SPEECH", "FILLER", "EDIT",
    "IP", "CB", "A/P", "SU", "SPEAKER", "SPKR-INFO",
})
# A plain decimal number with an optional exponent, ASCII digits only (no "1_0", "nan", "inf").
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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
    return read_lines(path)


def _skip(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith(";;") or s.startswith("#")


def _number(text: str, path: str | PathLike[str], lineno: int, field: str) -> float:
    value = float(text) if NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise InputError(path, lineno, f"a number for {field} (plain decimal like 12, 0.5, 1e-3; "
                         "no '_', nan or inf)", text)
    return value


def parse_rttm_lines(lines: list[str], path: str | PathLike[str] = "<rttm>") -> dict[str, list[Turn]]:
    """``{file_id: [Turn, ...]}`` in file order; raises :class:`InputError` on a bad line."""
    turns: dict[str, list[Turn]] = {}
    for lineno, line in enumerate(lines, start=1):
        if _skip(line):
            continue
        fields = line.split()
        if fields[0] != "SPEAKER":
            if fields[0] not in RTTM_TYPES:
                raise InputError(path, lineno, "an RTTM type such as SPEAKER (case-sensitive; one of "
                                 + ", ".join(sorted(RTTM_TYPES)) + ")", fields[0])
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
