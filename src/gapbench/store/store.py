"""The results store: save runs with their metrics, per-sample records and provenance; read them back.

SQLite in the user's data dir is the embedded default, ``$GAPBENCH_STORE`` overrides it and an
explicit URL (or a plain file path, taken as a SQLite file) wins over both (:mod:`.urls`).
``postgresql://`` URLs use the psycopg 3 driver. A save is one transaction: the whole run lands,
or nothing does. Runs arrive as :class:`~gapbench.core.run_document.RunDocument` (or a dict that
validates as one); every database failure is one :class:`StoreError` line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Engine, create_engine, delete, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, ProgrammingError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from gapbench.core.run_document import RunDocument, SampleRecord
from gapbench.shifts.base import CLEAN
from gapbench.store.codec import (
    INT_METRICS_KEY,
    chunks,
    created_out,
    dumps,
    metric_json,
    restore_ints,
    severity_out,
)
from gapbench.store.errors import RunNotFoundError, StoreError
from gapbench.store.models import SCHEMA_VERSION, metadata
from gapbench.store.models import meta as _meta
from gapbench.store.models import metric_values as _metric_values
from gapbench.store.models import results as _results
from gapbench.store.models import runs as _runs
from gapbench.store.models import sample_records as _records
from gapbench.store.rows import RECORD_COLUMNS, RunRows, insert_sql, record_tuple, run_rows
from gapbench.store.urls import masked_url, resolve_url

RECORD_CHUNK = 5000


# --------------------------------------------------------------------------------------------
# The store


class Store:
    """A results store on one database. Open it with :func:`open_store`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url

    def __repr__(self) -> str:
        return f"Store({masked_url(self.url)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    # ---- writing -----------------------------------------------------------------------------

    def save_run(self, run: RunDocument | Mapping[str, Any],
                 records: Iterable[SampleRecord | Mapping[str, Any]] | None = None) -> str:
        """Save one run and its per-sample records in one transaction; returns the run id."""
        return self.save_rows(run_rows(run, records))

    def save_rows(self, rows: RunRows) -> str:
        """Insert a run laid out by :func:`~gapbench.store.rows.run_rows`, in one transaction."""
        run_id = rows.run_id
        try:
            with self._engine.begin() as conn:
                try:
                    run_pk = conn.execute(insert(_runs).values(**rows.run)).inserted_primary_key[0]
                except IntegrityError:
                    raise StoreError(f"a run with id {run_id!r} is already in the store") from None
                metric_rows: list[dict[str, Any]] = []
                for res in rows.results:
                    res_id = conn.execute(insert(_results).values(run_pk=run_pk, **res.result)
                                          ).inserted_primary_key[0]
                    metric_rows += [{"result_id": res_id, **m} for m in res.metrics]
                if metric_rows:
                    conn.execute(insert(_metric_values), metric_rows)
                if rows.records is not None:
                    _insert_records(conn, run_pk, rows.record_rows())
        except SQLAlchemyError as e:
            raise StoreError(f"{masked_url(self.url)}: could not save run {run_id}: {_first_line(e)}") from e
        return run_id

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
        try:
            return self._get_run(run_id)
        except SQLAlchemyError as e:
            raise StoreError(f"{masked_url(self.url)}: could not read run {run_id}: {_first_line(e)}") from e

    def _get_run(self, run_id: str) -> dict[str, Any]:
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
            "created_at": created_out(row["created_at"]),
            "results": [],
            "latency": row["latency"],
            "provenance": row["provenance"],
        }
        for r in res_rows:
            res = {
                "shift": r["shift"],
                "severity": severity_out(r["severity"], r["severity_int"]),
                "metrics": restore_ints(metrics.get(r["id"], {}), r["extra"]),
            }
            if r["extra"]:
                res.update({k: v for k, v in r["extra"].items() if k not in res and k != INT_METRICS_KEY})
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
                out.setdefault(rid, {})[name] = metric_json(value, lo, hi)
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
            rec = {"sample_id": sample_id, "shift": sh, "severity": severity_out(sev, sev_int)}
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
            extras: dict[int, Any] = {}
            if pks:
                rc = _results.c
                res = conn.execute(
                    select(rc.id, rc.run_pk, rc.shift, rc.severity, rc.position, rc.extra)
                    .where(rc.run_pk.in_(pks))
                    .order_by(rc.run_pk, rc.position)
                ).all()
                for rid, run_pk, shift, severity, _pos, extra in res:
                    extras[rid] = extra
                    if shift == CLEAN and severity is None:
                        headline[run_pk] = rid
                    else:
                        headline.setdefault(run_pk, rid)
            metrics = {rid: restore_ints(m, extras.get(rid)) for rid, m in
                       self._metrics_for(conn, list(headline.values())).items()}
        return [
            {
                "run_id": row.run_id,
                "task": row.task,
                "model": row.model,
                "created_at": created_out(row.created_at),
                "git_hash": row.git_hash,
                "config_hash": row.config_hash,
                "metrics": metrics.get(headline.get(row.id, -1), {}),
            }
            for row in runs
        ]

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()


def _insert_records(conn: Any, run_pk: int, rows: Iterable[dict[str, Any]]) -> None:
    """Bulk insert inside the caller's transaction: COPY on psycopg, executemany on SQLite, both
    with plain tuples (:func:`~gapbench.store.rows.record_tuple`); other backends use ``insert()``."""
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {_records.name} ({', '.join(RECORD_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(record_tuple(run_pk, r))
        return
    if dialect.name == "sqlite":
        for chunk in chunks((record_tuple(run_pk, r) for r in rows), RECORD_CHUNK):
            conn.exec_driver_sql(insert_sql(_records.name, RECORD_COLUMNS), chunk)
        return
    for chunk in chunks(({"run_pk": run_pk, **r} for r in rows), RECORD_CHUNK):
        conn.execute(insert(_records), chunk)


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"json_serializer": dumps}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            if Path(db).is_dir():
                raise StoreError(f"cannot open store {masked_url(url)}: {db} is a directory, not a SQLite file")
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
        raise StoreError(f"{masked_url(url)}: database driver missing: {e.name}{hint}") from e

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
                metadata.create_all(conn)
                found = conn.execute(
                    select(_meta.c.value).where(_meta.c.key == "schema_version")
                ).scalar_one_or_none()
                if found is None:
                    conn.execute(
                        insert(_meta).values(key="schema_version", value=str(SCHEMA_VERSION))
                    )
                elif int(found) > SCHEMA_VERSION:
                    raise StoreError(
                        f"{masked_url(url)}: schema version {found} was written by a newer gapbench "
                        f"(this one reads {SCHEMA_VERSION}); upgrade gapbench"
                    )
            return
        except (IntegrityError, ProgrammingError):
            if attempt == 2:
                raise


def open_store(url: str | os.PathLike[str] | None = None) -> Store:
    """Open (and create if missing) the results store at ``url``.

    ``None`` means ``$GAPBENCH_STORE`` or, unset, SQLite in the user data dir. A path without a
    scheme is a SQLite file. ``postgresql://user@127.0.0.1:5432/db`` uses psycopg 3. Any failure
    (no server, unknown scheme, a damaged or read-only file, a directory) is one StoreError.
    """
    resolved = resolve_url(url)
    shown = masked_url(resolved)
    try:
        engine = _make_engine(resolved)
    except (ArgumentError, NoSuchModuleError, ValueError) as e:
        raise StoreError(f"cannot open store {shown}: not a database URL this gapbench supports "
                         f"(sqlite:///PATH, postgresql://USER@HOST/DB or a file path): {_first_line(e)}") from e
    except OSError as e:
        raise StoreError(f"cannot open store {shown}: {e.strerror or e}") from e
    try:
        _create_schema(engine, resolved)
    except ModuleNotFoundError as e:
        engine.dispose()
        raise StoreError(f"{shown}: database driver missing: {e.name}") from e
    except (SQLAlchemyError, OSError) as e:
        engine.dispose()
        raise StoreError(f"cannot open store {shown}: {_first_line(e)}") from e
    return Store(engine, resolved)
