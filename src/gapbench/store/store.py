"""The results store: save runs with their metrics, per-sample records and provenance; read them back.

SQLite in the user's data dir is the embedded default, ``$GAPBENCH_STORE`` overrides it and an
explicit URL (or a plain file path, taken as a SQLite file) wins over both. ``postgresql://`` URLs
use the psycopg 3 driver. A save is one transaction: the whole run lands, or nothing does.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path, PurePath
from typing import Any, Self

from sqlalchemy import Engine, create_engine, delete, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from gapbench.core.provenance import new_run_id
from gapbench.errors import InputError
from gapbench.store.models import (
    SCHEMA_VERSION,
    Base,
    Meta,
    MetricValueRow,
    Result,
    Run,
    SampleRecord,
)

ENV_VAR = "GAPBENCH_STORE"
DB_FILENAME = "gapbench.db"
RECORD_CHUNK = 5000
CLEAN_SHIFT = "none"

_RUN_KEYS = {"run_id", "task", "model", "results", "latency", "provenance", "created_at"}
_RESULT_KEYS = {"shift", "severity", "metrics"}
_RECORD_KEYS = {"sample_id", "shift", "severity"}

_runs = Run.__table__
_results = Result.__table__
_metric_values = MetricValueRow.__table__
_records = SampleRecord.__table__


class StoreError(RuntimeError):
    """The store cannot do what was asked (cannot connect, duplicate run id, newer schema...)."""


class RunNotFoundError(StoreError, LookupError):
    """No run with this id in the store."""


# --------------------------------------------------------------------------------------------
# URLs


def default_url() -> str:
    """``$GAPBENCH_STORE`` when set, else SQLite at ``user_data_dir("gapbench")/gapbench.db``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return normalise_url(env)
    import platformdirs

    return _sqlite_url(Path(platformdirs.user_data_dir("gapbench")) / DB_FILENAME)


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The URL a store opens: the explicit ``url`` wins, then ``$GAPBENCH_STORE``, then the data dir."""
    if url is None or (isinstance(url, str) and not url.strip()):
        return default_url()
    return normalise_url(url)


def normalise_url(url: str | os.PathLike[str]) -> str:
    """``postgresql://`` and ``postgres://`` -> ``postgresql+psycopg://``; a bare path -> SQLite URL."""
    if isinstance(url, PurePath):
        return _sqlite_url(Path(url))
    url = str(url).strip()
    if "://" not in url:
        return _sqlite_url(Path(url))
    scheme, rest = url.split("://", 1)
    if scheme.lower() in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for messages
        return url


# --------------------------------------------------------------------------------------------
# JSON that both SQLite and PostgreSQL (JSONB: no NaN, no Infinity) accept


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


def _dumps(obj: Any) -> str:
    """Compact JSON; NaN and Infinity (anywhere inside) become null."""
    try:
        return _ENCODER.encode(obj)
    except ValueError:
        return _ENCODER.encode(_finite(obj))


# --------------------------------------------------------------------------------------------
# Value coercion


def _number(x: Any, where: str, what: str) -> float | None:
    """A float, or None for None/NaN."""
    if x is None:
        return None
    if isinstance(x, (str, bytes)) or not _is_real(x):
        raise InputError(None, where, f"{what} as a number or null", x)
    f = float(x)
    return None if math.isnan(f) else f


def _is_real(x: Any) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


def _severity(x: Any, where: str) -> tuple[float | None, bool]:
    if x is None:
        return None, False
    if isinstance(x, (bool, str, bytes)) or not _is_real(x):
        raise InputError(None, where, "severity as a number or null", x)
    is_int = isinstance(x, numbers.Integral)
    f = float(x)
    if math.isnan(f):
        return None, False
    return f, bool(is_int)


def _severity_out(value: float | None, is_int: bool) -> float | int | None:
    if value is None:
        return None
    return int(value) if is_int and value.is_integer() else value


def _ci(x: Any, where: str) -> tuple[float | None, float | None]:
    if x is None:
        return None, None
    if isinstance(x, (str, bytes, Mapping)) or not isinstance(x, (Sequence, Iterable)):
        raise InputError(None, where, "ci95 as [lo, hi] or null", x)
    pair = list(x)
    if len(pair) != 2:
        raise InputError(None, where, "ci95 as [lo, hi] or null", x)
    lo, hi = _number(pair[0], where, "ci95 lower bound"), _number(pair[1], where, "ci95 upper bound")
    if lo is None or hi is None:
        return None, None
    return lo, hi


def _created_at(x: Any, where: str) -> datetime:
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


def _created_out(dt: datetime) -> str:
    if dt.tzinfo is None:  # SQLite keeps no zone; we always store UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat()


def _int_or_none(x: Any) -> int | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        i = int(x)
    except (TypeError, ValueError):
        return None
    return i if -(2**63) <= i < 2**63 else None


def _str_or_none(x: Any, limit: int = 64) -> str | None:
    return x[:limit] if isinstance(x, str) and x else None


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _metric_json(value: float | None, lo: float | None, hi: float | None) -> dict[str, Any]:
    return {"value": value, "ci95": None if lo is None or hi is None else [lo, hi]}


# --------------------------------------------------------------------------------------------
# The store


class Store:
    """A results store on one database. Open it with :func:`open_store`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url

    def __repr__(self) -> str:
        return f"Store({_masked(self.url)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    # ---- writing -----------------------------------------------------------------------------

    def save_run(self, run: Mapping[str, Any], records: Iterable[Mapping[str, Any]] | None = None) -> str:
        """Save one run and its per-sample records in one transaction; returns the run id."""
        if not isinstance(run, Mapping):
            raise InputError(None, "run", "a run as a dict", type(run).__name__)
        run_id = run.get("run_id") or new_run_id()
        if not isinstance(run_id, str) or len(run_id) > 64:
            raise InputError(None, "run", "run_id as a string of at most 64 characters", run_id)
        where = f"run {run_id}"
        for key, limit in (("task", 200), ("model", 500)):
            if not isinstance(run.get(key), str) or not run[key] or len(run[key]) > limit:
                raise InputError(
                    None, where, f"{key!r} as a non-empty string of at most {limit} characters", run.get(key)
                )
        results = run.get("results") or []
        if isinstance(results, (str, bytes, Mapping)) or not isinstance(results, Iterable):
            raise InputError(None, where, "'results' as a list", type(results).__name__)
        results = list(results)
        provenance = run.get("provenance")
        if provenance is not None and not isinstance(provenance, Mapping):
            raise InputError(None, where, "'provenance' as a dict or null", type(provenance).__name__)
        prov = provenance or {}
        extra = {k: v for k, v in run.items() if k not in _RUN_KEYS}
        run_row = {
            "run_id": run_id,
            "task": run["task"],
            "model": run["model"],
            "created_at": _created_at(run.get("created_at"), where),
            "seed": _int_or_none(prov.get("seed")),
            "git_hash": _str_or_none(prov.get("git_hash")),
            "config_hash": _str_or_none(prov.get("config_hash")),
            "gapbench_version": _str_or_none(prov.get("gapbench_version")),
            "provenance": provenance,
            "latency": run.get("latency"),
            "extra": extra or None,
        }
        parsed = self._parse_results(results, where)

        try:
            with self._engine.begin() as conn:
                try:
                    run_pk = conn.execute(insert(_runs).values(**run_row)).inserted_primary_key[0]
                except IntegrityError:
                    raise StoreError(f"a run with id {run_id!r} is already in the store") from None
                metric_rows: list[dict[str, Any]] = []
                for pos, (res_row, metrics) in enumerate(parsed):
                    res_id = conn.execute(
                        insert(_results).values(run_pk=run_pk, position=pos, **res_row)
                    ).inserted_primary_key[0]
                    for mpos, (name, value, lo, hi) in enumerate(metrics):
                        metric_rows.append(
                            {
                                "result_id": res_id,
                                "position": mpos,
                                "name": name,
                                "value": value,
                                "ci_lo": lo,
                                "ci_hi": hi,
                            }
                        )
                if metric_rows:
                    conn.execute(insert(_metric_values), metric_rows)
                if records is not None:
                    _insert_records(conn, self._record_rows(records, run_pk, where))
        except OperationalError as e:
            raise StoreError(f"{_masked(self.url)}: could not save run {run_id}: {_first_line(e)}") from e
        return run_id

    @staticmethod
    def _parse_results(results: list[Any], where: str) -> list[tuple[dict[str, Any], list[tuple]]]:
        out: list[tuple[dict[str, Any], list[tuple]]] = []
        seen: set[tuple[str, float | None]] = set()
        for i, res in enumerate(results):
            rwhere = f"{where} results[{i}]"
            if not isinstance(res, Mapping):
                raise InputError(None, rwhere, "a result as a dict", type(res).__name__)
            shift = res.get("shift", CLEAN_SHIFT)
            if not isinstance(shift, str) or not shift or len(shift) > 100:
                raise InputError(
                    None, rwhere, "'shift' as a non-empty string of at most 100 characters", shift
                )
            severity, sev_int = _severity(res.get("severity"), rwhere)
            if (shift, severity) in seen:
                raise InputError(None, rwhere, "one result per (shift, severity)", (shift, severity))
            seen.add((shift, severity))
            metrics_in = res.get("metrics") or {}
            if not isinstance(metrics_in, Mapping):
                raise InputError(None, rwhere, "'metrics' as a dict name -> {value, ci95}", metrics_in)
            metrics: list[tuple] = []
            for name, m in metrics_in.items():
                mwhere = f"{rwhere} metric {name!r}"
                if not isinstance(name, str) or not name or len(name) > 200:
                    raise InputError(None, rwhere, "metric names as non-empty strings (at most 200)", name)
                if isinstance(m, Mapping):
                    value = _number(m.get("value"), mwhere, "value")
                    lo, hi = _ci(m.get("ci95"), mwhere)
                else:  # a bare number is a value without an interval
                    value, (lo, hi) = _number(m, mwhere, "value"), (None, None)
                metrics.append((name, value, lo, hi))
            extra = {k: v for k, v in res.items() if k not in _RESULT_KEYS}
            out.append(
                (
                    {"shift": shift, "severity": severity, "severity_int": sev_int, "extra": extra or None},
                    metrics,
                )
            )
        return out

    @staticmethod
    def _record_rows(
        records: Iterable[Mapping[str, Any]], run_pk: int, where: str
    ) -> Iterator[dict[str, Any]]:
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise InputError(None, f"{where} records[{i}]", "a record as a dict", type(rec).__name__)
            sid = rec.get("sample_id")
            if (
                sid is None
                or isinstance(sid, (bool, bytes))
                or not isinstance(sid, (str, int))
                or len(str(sid)) > 500
            ):
                raise InputError(None, f"{where} records[{i}]", "'sample_id' as a string (at most 500)", sid)
            shift = rec.get("shift", CLEAN_SHIFT)
            if not isinstance(shift, str) or not shift or len(shift) > 100:
                raise InputError(
                    None, f"{where} records[{i}]", "'shift' as a non-empty string (at most 100)", shift
                )
            sev = rec.get("severity")
            if sev is None:
                severity, sev_int = None, False
            else:
                severity, sev_int = _severity(sev, f"{where} records[{i}]")
            payload = {k: v for k, v in rec.items() if k not in _RECORD_KEYS}
            yield {
                "run_pk": run_pk,
                "sample_id": str(sid),
                "shift": shift,
                "severity": severity,
                "severity_int": sev_int,
                "payload": payload or None,
            }

    def delete_run(self, run_id: str) -> None:
        """Remove a run with its results, metric values and records."""
        with self._engine.begin() as conn:
            run_pk = self._run_pk(conn, run_id)
            conn.execute(delete(_records).where(_records.c.run_pk == run_pk))
            res_ids = select(_results.c.id).where(_results.c.run_pk == run_pk)
            conn.execute(delete(_metric_values).where(_metric_values.c.result_id.in_(res_ids)))
            conn.execute(delete(_results).where(_results.c.run_pk == run_pk))
            conn.execute(delete(_runs).where(_runs.c.id == run_pk))

    # ---- reading -----------------------------------------------------------------------------

    @staticmethod
    def _run_pk(conn: Any, run_id: str) -> int:
        pk = conn.execute(select(_runs.c.id).where(_runs.c.run_id == run_id)).scalar_one_or_none()
        if pk is None:
            raise RunNotFoundError(f"no run {run_id!r} in the store")
        return pk

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run as saved: task, model, results with their metrics, latency, provenance."""
        with self._engine.connect() as conn:
            row = conn.execute(select(_runs).where(_runs.c.run_id == run_id)).mappings().one_or_none()
            if row is None:
                raise RunNotFoundError(f"no run {run_id!r} in the store")
            res_rows = (
                conn.execute(
                    select(_results).where(_results.c.run_pk == row["id"]).order_by(_results.c.position)
                )
                .mappings()
                .all()
            )
            metrics = self._metrics_for(conn, [r["id"] for r in res_rows])
        out: dict[str, Any] = {
            "run_id": row["run_id"],
            "task": row["task"],
            "model": row["model"],
            "created_at": _created_out(row["created_at"]),
            "results": [],
            "latency": row["latency"],
            "provenance": row["provenance"],
        }
        for r in res_rows:
            res = {
                "shift": r["shift"],
                "severity": _severity_out(r["severity"], r["severity_int"]),
                "metrics": metrics.get(r["id"], {}),
            }
            if r["extra"]:
                res.update({k: v for k, v in r["extra"].items() if k not in res})
            out["results"].append(res)
        if row["extra"]:
            out.update({k: v for k, v in row["extra"].items() if k not in out})
        return out

    @staticmethod
    def _metrics_for(conn: Any, result_ids: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
        out: dict[int, dict[str, dict[str, Any]]] = {}
        if not result_ids:
            return out
        mv = _metric_values.c
        for i in range(0, len(result_ids), 1000):
            rows = conn.execute(
                select(mv.result_id, mv.name, mv.value, mv.ci_lo, mv.ci_hi)
                .where(mv.result_id.in_(result_ids[i : i + 1000]))
                .order_by(mv.result_id, mv.position)
            ).all()
            for rid, name, value, lo, hi in rows:
                out.setdefault(rid, {})[name] = _metric_json(value, lo, hi)
        return out

    def get_records(self, run_id: str, shift: str | None = None) -> list[dict[str, Any]]:
        """Per-sample records of a run in saved order, optionally of one shift only."""
        c = _records.c
        with self._engine.connect() as conn:
            run_pk = self._run_pk(conn, run_id)
            q = select(c.sample_id, c.shift, c.severity, c.severity_int, c.payload).where(c.run_pk == run_pk)
            if shift is not None:
                q = q.where(c.shift == shift)
            rows = conn.execute(q.order_by(c.id)).all()
        out = []
        for sample_id, sh, sev, sev_int, payload in rows:
            rec = {"sample_id": sample_id, "shift": sh, "severity": _severity_out(sev, sev_int)}
            if payload:
                rec.update(payload)
            out.append(rec)
        return out

    def list_runs(
        self, task: str | None = None, model: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Newest first: run_id, task, model, created_at, git/config hash and the headline metrics.

        The headline metrics are those of the clean result (shift ``"none"``, no severity), or of
        the first saved result when a run has no clean one; same shape as in ``get_run``.
        """
        r = _runs.c
        q = select(r.id, r.run_id, r.task, r.model, r.created_at, r.git_hash, r.config_hash)
        if task is not None:
            q = q.where(r.task == task)
        if model is not None:
            q = q.where(r.model == model)
        q = q.order_by(r.created_at.desc(), r.id.desc()).limit(max(0, int(limit)))
        with self._engine.connect() as conn:
            runs = conn.execute(q).all()
            pks = [row.id for row in runs]
            headline: dict[int, int] = {}
            if pks:
                rc = _results.c
                res = conn.execute(
                    select(rc.id, rc.run_pk, rc.shift, rc.severity, rc.position)
                    .where(rc.run_pk.in_(pks))
                    .order_by(rc.run_pk, rc.position)
                ).all()
                for rid, run_pk, shift, severity, _pos in res:
                    if shift == CLEAN_SHIFT and severity is None:
                        headline[run_pk] = rid
                    else:
                        headline.setdefault(run_pk, rid)
            metrics = self._metrics_for(conn, list(headline.values()))
        return [
            {
                "run_id": row.run_id,
                "task": row.task,
                "model": row.model,
                "created_at": _created_out(row.created_at),
                "git_hash": row.git_hash,
                "config_hash": row.config_hash,
                "metrics": metrics.get(headline.get(row.id, -1), {}),
            }
            for row in runs
        ]

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()


_RECORD_COLUMNS = ("run_pk", "sample_id", "shift", "severity", "severity_int", "payload")


def _insert_records(conn: Any, rows: Iterable[dict[str, Any]]) -> None:
    """Bulk insert inside the caller's transaction: COPY on psycopg, executemany on SQLite.

    Both fast paths serialise the JSON payload here (NaN -> null) and hand the driver plain
    tuples, skipping SQLAlchemy's per-row bind processing; other backends use ``insert()``.
    """
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        cols = ", ".join(_RECORD_COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY {_records.name} ({cols}) FROM STDIN") as copy:
            for r in rows:
                payload = r["payload"]
                copy.write_row(
                    (
                        r["run_pk"],
                        r["sample_id"],
                        r["shift"],
                        r["severity"],
                        r["severity_int"],
                        None if payload is None else _dumps(payload),
                    )
                )
        return
    if dialect.name == "sqlite":
        sql = (
            f"INSERT INTO {_records.name} ({', '.join(_RECORD_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_RECORD_COLUMNS))})"
        )
        tuples = (
            (
                r["run_pk"],
                r["sample_id"],
                r["shift"],
                r["severity"],
                int(r["severity_int"]),
                None if r["payload"] is None else _dumps(r["payload"]),
            )
            for r in rows
        )
        for chunk in _chunks(tuples, RECORD_CHUNK):
            conn.exec_driver_sql(sql, chunk)
        return
    for chunk in _chunks(rows, RECORD_CHUNK):
        conn.execute(insert(_records), chunk)


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"json_serializer": _dumps}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["connect_args"] = {"check_same_thread": False}
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as e:
        hint = " (pip install 'gapbench[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
        raise StoreError(f"{_masked(url)}: database driver missing: {e.name}{hint}") from e

    if parsed.get_backend_name() == "sqlite":
        # SQLAlchemy's recipe for real SQLite transactions: the driver does not BEGIN by itself
        # (so DDL is transactional too: creating the schema is one commit, not one per table).
        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


def _create_schema(engine: Engine, url: str) -> None:
    for attempt in range(3):  # two processes creating the same tables at once: retry
        try:
            with engine.begin() as conn:  # one transaction: one commit (fsync) on SQLite
                Base.metadata.create_all(conn)
                found = conn.execute(
                    select(Meta.value).where(Meta.key == "schema_version")
                ).scalar_one_or_none()
                if found is None:
                    conn.execute(
                        insert(Meta.__table__).values(key="schema_version", value=str(SCHEMA_VERSION))
                    )
                elif int(found) > SCHEMA_VERSION:
                    raise StoreError(
                        f"{_masked(url)}: schema version {found} was written by a newer gapbench "
                        f"(this one reads {SCHEMA_VERSION}); upgrade gapbench"
                    )
            return
        except (IntegrityError, ProgrammingError):
            if attempt == 2:
                raise


def open_store(url: str | os.PathLike[str] | None = None) -> Store:
    """Open (and create if missing) the results store at ``url``.

    ``None`` means ``$GAPBENCH_STORE`` or, unset, SQLite in the user data dir. A path without a
    scheme is a SQLite file. ``postgresql://user@127.0.0.1:5432/db`` uses psycopg 3.
    """
    resolved = resolve_url(url)
    engine = _make_engine(resolved)
    try:
        _create_schema(engine, resolved)
    except OperationalError as e:
        engine.dispose()
        raise StoreError(f"cannot open store {_masked(resolved)}: {_first_line(e)}") from e
    except ModuleNotFoundError as e:
        engine.dispose()
        raise StoreError(f"{_masked(resolved)}: database driver missing: {e.name}") from e
    except SQLAlchemyError:
        engine.dispose()
        raise
    return Store(engine, resolved)
