"""JSON and value coercion that both SQLite and PostgreSQL (JSONB: no NaN, no Infinity) accept."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

from gapbench.errors import InputError


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist") and callable(o.tolist):  # numpy arrays and scalars
        return o.tolist()
    if hasattr(o, "item") and callable(o.item):
        return o.item()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if isinstance(o, PurePath):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite(o: Any) -> Any:
    """NaN and +-Infinity -> None, recursively (JSON has neither)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if o is None or isinstance(o, (str, int, bool)):
        return o
    if isinstance(o, Mapping):
        return {str(k): _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set, frozenset)):
        return [_finite(v) for v in o]
    return _finite(_json_default(o))


_ENCODER = json.JSONEncoder(allow_nan=False, default=_json_default, separators=(",", ":"))


def dumps(obj: Any) -> str:
    """Compact JSON; NaN and Infinity (anywhere inside) become null."""
    try:
        return _ENCODER.encode(obj)
    except ValueError:
        return _ENCODER.encode(_finite(obj))


# --------------------------------------------------------------------------------------------
# Value coercion


def severity_out(value: float | None, is_int: bool) -> float | int | None:
    if value is None:
        return None
    return int(value) if is_int and value.is_integer() else value


def created_at(x: Any, where: str) -> datetime:
    if x is None:
        return datetime.now(UTC)
    if isinstance(x, datetime):
        dt = x
    elif isinstance(x, str):
        try:
            dt = datetime.fromisoformat(x)
        except ValueError:
            raise InputError(None, where, "created_at as an ISO 8601 timestamp", x) from None
    else:
        raise InputError(None, where, "created_at as an ISO 8601 timestamp", x)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def created_out(dt: datetime) -> str:
    if dt.tzinfo is None:  # SQLite keeps no zone; we always store UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat()


def int_or_none(x: Any) -> int | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        i = int(x)
    except (TypeError, ValueError):
        return None
    return i if -(2**63) <= i < 2**63 else None


def str_or_none(x: Any, limit: int = 64) -> str | None:
    return x[:limit] if isinstance(x, str) and x else None


def chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def metric_json(value: float | None, lo: float | None, hi: float | None) -> dict[str, Any]:
    return {"value": value, "ci95": None if lo is None or hi is None else [lo, hi]}


#: key in a result's ``extra`` JSON listing its metrics saved as integers (counts): the value
#: column is a float, and a count read back must print as ``1575``, not ``1575.0``
INT_METRICS_KEY = "_int_metrics"


def int_metric_names(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """Names of the metrics whose value is an integer (a count), in order."""
    return [n for n, m in metrics.items()
            if isinstance(m.get("value"), int) and not isinstance(m.get("value"), bool)]


def restore_ints(metrics: dict[str, dict[str, Any]], extra: Any) -> dict[str, dict[str, Any]]:
    """Give the metrics listed under :data:`INT_METRICS_KEY` back their integer values."""
    names = extra.get(INT_METRICS_KEY) if isinstance(extra, dict) else None
    for name in names or ():
        m = metrics.get(name)
        if m is not None and isinstance(m.get("value"), float) and m["value"].is_integer():
            m["value"] = int(m["value"])
    return metrics




def severity_in(x: Any) -> tuple[float | None, bool]:
    """A checked severity as ``(float or None, was an int)`` so an int comes back as one."""
    if x is None:
        return None, False
    return float(x), isinstance(x, int)
