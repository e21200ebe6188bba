"""Sweeps: the ``--shift`` grammar that names the cells, and the degradation summary of a run.

Grammar (one ``--shift`` value; the option repeats):

* ``fog,motion_blur``: families, each at every severity of ``--severities`` (default 1-5);
* ``imagenet-c``: the 15 main ImageNet-C corruptions;
* ``noise:kind=white,snr=20,10,5``: after ``FAMILY:``, ``name=value`` starts a parameter and a
  bare token adds a value to the previous one. At most one parameter takes several values; each
  value is a cell whose ``severity`` is that value and whose ``params`` hold every parameter (the
  family's level-3 ladder, updated by what was given). With no multi-valued parameter the family
  runs once with those parameters (``severity`` null).
* ``none``: the clean cell only (always run first anyway).

Summary (``RunDocument.summary``), for the primary metric (the first declared by the task's first
metric): per cell the value, the degradation from clean (positive = worse) with a paired bootstrap
interval over the samples present in both cells, and the relative degradation; per family the
mean over its cells and the area under the degradation curve (trapezoid over levels 0 = clean to 5,
divided by 5; for a parameter sweep over its span); ImageNet-C's Corruption Error against a
baseline (Hendrycks & Dietterich 2019): ``CE_c = sum_s E_s,c / sum_s E^base_s,c``, the mean
``mCE`` and the relative mCE; for speech, the SNR-vs-error curve and the SNR where the error rate
doubles from clean.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.registry import import_target
from gapbench.errors import InputError
from gapbench.shifts.base import CLEAN, CLEAN_CELL, SEVERITIES, ShiftCell

GROUPS = {"imagenet-c": "gapbench.shifts.image:IMAGENET_C_MAIN"}  # name -> "module:attr" of family names

# AlexNet's top-1 errors on ImageNet-C, mean over severities 1-5, and clean (Hendrycks & Dietterich
# 2019; the hendrycks/robustness ImageNet-C evaluation code). A mean of five is a sum / 5, so CE
# over all five severities is the same with these as with the per-severity errors.
ALEXNET_ERRORS: dict[str, float] = {
    "gaussian_noise": 0.886428, "shot_noise": 0.894468, "impulse_noise": 0.922640, "defocus_blur": 0.819880,
    "glass_blur": 0.826268, "motion_blur": 0.785948, "zoom_blur": 0.798360, "snow": 0.866816,
    "frost": 0.826572, "fog": 0.819324, "brightness": 0.564592, "contrast": 0.853204,
    "elastic_transform": 0.646056, "pixelate": 0.717840, "jpeg_compression": 0.606500,
}
ALEXNET_CLEAN_ERROR = 0.4345


# ---- the grammar --------------------------------------------------------------------------------


def parse_severities(text: str | None) -> tuple[int, ...]:
    """``"1-5"``, ``"1,3,5"`` or None (the whole ladder)."""
    if text is None or not text.strip():
        return SEVERITIES
    out: list[int] = []
    try:
        for part in text.replace(" ", "").split(","):
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise InputError(None, "severities", "levels such as 1-5 or 1,3,5", text) from None
    bad = [s for s in out if s not in SEVERITIES]
    if bad or not out:
        raise InputError(None, "severities", f"levels in {SEVERITIES[0]}-{SEVERITIES[-1]}", text)
    return tuple(dict.fromkeys(out))


def _number(token: str) -> Any:
    for kind in (int, float):
        try:
            return kind(token)
        except ValueError:
            continue
    return token


def parse_shift(text: str, severities: Sequence[int] = SEVERITIES) -> list[ShiftCell]:
    """The cells of one ``--shift`` value (see the module docstring)."""
    from gapbench.shifts.registry import get_family

    text = text.strip()
    head, sep, rest = text.partition(":")
    if not sep:
        cells: list[ShiftCell] = []
        for name in (n.strip() for n in head.split(",") if n.strip()):
            if name == CLEAN:
                continue
            members = import_target(GROUPS[name]) if name in GROUPS else (name,)
            for fam_name in members:
                fam = get_family(fam_name)
                cells += [ShiftCell(fam.name, s, fam.params_for(s)) for s in severities]
        return cells
    fam = get_family(head.strip())
    params: dict[str, list[Any]] = {}
    current: str | None = None
    for token in (t.strip() for t in rest.split(",") if t.strip()):
        if "=" in token:
            current, _, value = token.partition("=")
            current = current.strip()
            fam.param(current)  # unknown names: did-you-mean
            params.setdefault(current, []).append(_number(value.strip()))
        elif current is None:
            raise InputError(None, f"shift {text!r}", "name=value after 'FAMILY:'", token)
        else:
            params[current].append(_number(token))
    multi = [k for k, v in params.items() if len(v) > 1]
    if len(multi) > 1:
        raise InputError(None, f"shift {text!r}", "at most one parameter with several values", ", ".join(multi))
    base = fam.params_for(3) if 3 in fam.ladder else {}
    fixed = {k: v[0] for k, v in params.items() if len(v) == 1}
    if not multi:
        return [ShiftCell(fam.name, None, {**base, **fam.params_for(**fixed)})]
    swept = multi[0]
    return [ShiftCell(fam.name, value, {**base, **fam.params_for(**fixed, **{swept: value})}, swept)
            for value in params[swept]]


def parse_cells(shifts: Sequence[str], severities: str | None = None) -> tuple[ShiftCell, ...]:
    """The clean cell, then every cell of every ``--shift`` value, without repeats."""
    levels = parse_severities(severities)
    cells: list[ShiftCell] = [CLEAN_CELL]
    seen = {_cell_key(CLEAN_CELL)}
    for text in shifts:
        for cell in parse_shift(text, levels):
            if _cell_key(cell) not in seen:
                seen.add(_cell_key(cell))
                cells.append(cell)
    return tuple(cells)


NOISE_SOURCE_KINDS = ("babble", "file")
MAX_BANK_CLIPS = 64


def attach_noise_sources(cells: Sequence[ShiftCell], task: Any, spec: Any) -> list[ShiftCell]:
    """Give babble/file noise cells their clips: ``noise_dir`` from the spec's options, else the
    task's own audio (up to ``MAX_BANK_CLIPS`` samples), registered as the bank ``dataset:TASK``.
    The bank's name goes into the cell's parameters, so the cache keys on where noise came from."""
    from dataclasses import replace

    needs = [c for c in cells if c.shift == "noise" and c.params.get("kind") in NOISE_SOURCE_KINDS
             and not c.params.get("noise_dir") and not c.params.get("bank")]
    if not needs:
        return list(cells)
    noise_dir = spec.options.get("noise_dir")
    if noise_dir:
        extra = {"noise_dir": str(noise_dir)}
    else:
        from itertools import islice

        from gapbench.core.media import Audio
        from gapbench.shifts.audio_noise import NoiseBank

        clips = [s.input for s in islice(task.samples(), MAX_BANK_CLIPS) if isinstance(s.input, Audio)]
        if not clips:
            raise InputError(None, "shift 'noise'", "a noise directory (noise_dir) for babble/file noise: "
                             "this task's samples are not audio")
        name = f"dataset:{task.name}"
        NoiseBank(clips, name=name).register(name)
        extra = {"bank": name}
    return [replace(c, params={**c.params, **extra}) if c in needs else c for c in cells]


def _cell_key(cell: ShiftCell) -> str:
    return json.dumps([cell.shift, cell.severity, dict(cell.params)], sort_keys=True, default=str)


# ---- the summary ----------------------------------------------------------------------------------


def load_baseline(name_or_path: str | None) -> tuple[str, float, dict[str, float]] | None:
    """``alexnet`` or a JSON file ``{"clean": E, "corruptions": {name: E or [E1..E5]}}`` (errors)."""
    if name_or_path is None:
        return None
    if name_or_path == "alexnet":
        return "alexnet", ALEXNET_CLEAN_ERROR, dict(ALEXNET_ERRORS)
    path = Path(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        clean = float(data["clean"])
        table = {str(k): float(np.mean(v)) for k, v in data["corruptions"].items()}
    except FileNotFoundError:
        raise InputError(str(path), None, "'alexnet' or a baseline JSON file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(str(path), None, '{"clean": error, "corruptions": {name: error or [5 errors]}}',
                         str(exc)) from None
    return str(path), clean, table


def _error(value: float, higher_is_better: bool) -> float:
    return 1.0 - value if higher_is_better else value


def _trapezoid(x: Sequence[float], y: Sequence[float]) -> float:
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.sum((x_arr[1:] - x_arr[:-1]) * (y_arr[1:] + y_arr[:-1]) / 2.0))


def sweep_summary(cells: Sequence[Any], *, bootstrap: int, seed: int, ci: bool,
                  baseline: str | None = None) -> dict[str, Any]:
    """The summary block of a run whose first cell is clean (``cells`` are the runner's)."""
    from gapbench.scoring.compare import paired_difference

    clean = cells[0]
    states = clean.states
    primary_state = states[0]
    name = next(iter(primary_state.declared), None) or next(iter(clean.score.metrics))
    info = primary_state.declared.get(name)
    higher = bool(info.higher_is_better) if info else True
    clean_value = _value(clean, name)
    out: dict[str, Any] = {"metric": name, "higher_is_better": higher, "clean": clean_value, "cells": []}
    notes: list[str] = []
    for cell in cells[1:]:
        value = _value(cell, name)
        row: dict[str, Any] = {**cell.cell.to_json(), "value": value}
        if value is not None and clean_value is not None:
            row["drop"] = (clean_value - value) if higher else (value - clean_value)
            row["relative_drop"] = row["drop"] / abs(clean_value) if clean_value else None
        test = paired_difference(clean.states[0], cell.states[0], name, bootstrap if ci else 0, seed)
        if test is not None:
            row["n_paired"] = test[1]
            lo_hi = test[0]
            if lo_hi is not None:  # interval of (cell - clean); a drop flips it for higher-is-better
                lo, hi = (-lo_hi[1], -lo_hi[0]) if higher else lo_hi
                row["drop_ci95"] = [lo + 0.0, hi + 0.0]  # (no negative zero)
        if cell.skipped:
            row["n_skipped"] = len(cell.skipped)
        out["cells"].append(row)
    out["families"] = _families(out["cells"], clean_value, higher)
    _corruption_error(out, clean_value, higher, baseline, notes)
    curve = _snr_curve(out["cells"], clean_value, higher)
    if curve:
        out["snr_curve"] = curve
    if notes:
        out["notes"] = notes
    return out


def _value(cell: Any, name: str) -> float | None:
    mv = cell.score.metrics.get(name)
    if mv is None or mv.value is None or (isinstance(mv.value, float) and math.isnan(mv.value)):
        return None
    return float(mv.value)


def _families(rows: list[dict[str, Any]], clean: float | None, higher: bool) -> dict[str, Any]:
    fams: dict[str, dict[str, Any]] = {}
    for shift in dict.fromkeys(r["shift"] for r in rows):
        mine = [r for r in rows if r["shift"] == shift and r["value"] is not None]
        if not mine:
            continue
        entry: dict[str, Any] = {"mean": float(np.mean([r["value"] for r in mine])),
                                 "cells": len(mine)}
        ladder = [r for r in mine if r["severity"] is not None and not r.get("swept")]
        swept = [r for r in mine if r.get("swept")]
        if ladder and clean is not None and max(r["severity"] for r in ladder) == SEVERITIES[-1]:
            pts = sorted((r["severity"], r["value"]) for r in ladder)
            entry["auc"] = _trapezoid([0.0] + [p[0] for p in pts], [clean] + [p[1] for p in pts]) / SEVERITIES[-1]
            entry["auc_over"] = "levels 0 (clean) to 5"
        elif len(swept) > 1:
            pts = sorted((float(r["severity"]), r["value"]) for r in swept)
            span = pts[-1][0] - pts[0][0]
            if span > 0:
                entry["auc"] = _trapezoid([p[0] for p in pts], [p[1] for p in pts]) / span
                entry["auc_over"] = f"{swept[0]['swept']} from {pts[0][0]:g} to {pts[-1][0]:g}"
        fams[shift] = entry
    return fams


def _corruption_error(out: dict[str, Any], clean: float | None, higher: bool, baseline: str | None,
                      notes: list[str]) -> None:
    base = load_baseline(baseline)
    errors: dict[str, float] = {}
    for shift in out["families"]:
        rows = [r for r in out["cells"] if r["shift"] == shift and not r.get("swept") and r["value"] is not None]
        if {r["severity"] for r in rows} >= set(SEVERITIES):
            errors[shift] = float(np.mean([_error(r["value"], higher) for r in rows if r["severity"] in SEVERITIES]))
    if not errors or clean is None:
        return
    clean_err = _error(clean, higher)
    if base is None:
        out["mean_error"] = float(np.mean(list(errors.values())))
        out["mean_error_over"] = sorted(errors)
        return
    label, base_clean, table = base
    ce, rce = {}, {}
    for shift, err in errors.items():
        if shift not in table:
            notes.append(f"{shift}: not in baseline {label}, no corruption error")
            continue
        ce[shift] = err / table[shift]
        denom = table[shift] - base_clean
        rce[shift] = (err - clean_err) / denom if denom else None
    if ce:
        out["baseline"] = label
        out["corruption_error"] = ce
        out["mce"] = float(np.mean(list(ce.values())))
        valid = [v for v in rce.values() if v is not None]
        out["relative_corruption_error"] = rce
        out["relative_mce"] = float(np.mean(valid)) if valid else None


def _snr_curve(rows: list[dict[str, Any]], clean: float | None, higher: bool) -> dict[str, Any] | None:
    pts = sorted(((float(r["params"]["snr"]), r["value"]) for r in rows
                  if r["shift"] == "noise" and "snr" in r.get("params", {}) and r["value"] is not None),
                 reverse=True)
    if len(pts) < 1 or higher or clean is None:
        return None
    from gapbench.shifts.audio_summary import snr_at_doubling

    snrs, vals = [p[0] for p in pts], [p[1] for p in pts]
    return {"snr_db": snrs, "value": vals, "clean": clean,
            "snr_at_doubling_db": snr_at_doubling(snrs, vals, clean)}
