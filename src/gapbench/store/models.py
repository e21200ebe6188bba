"""SQLAlchemy models of the results store: runs, results, metric values, sample records.

::

    runs            one evaluation: task x model, its provenance (JSON + indexed git/config hash)
     └ results      one row per (run, shift, severity); shift "none" + severity NULL is the clean run
        └ metric_values   one row per (result, metric name): value, ci_lo, ci_hi (NULL = undefined)
     └ sample_records     one row per (run, sample, shift, severity) with the rest as a JSON payload

The same schema serves SQLite (the embedded default) and PostgreSQL (``JSON`` becomes ``JSONB``,
integer keys of the big table become ``BIGINT``). This module imports SQLAlchemy at import time,
so only :mod:`gapbench.store.store` imports it, and only when a store is opened.

The tables are SQLAlchemy *core* tables (the store reads and writes with core statements), and
PostgreSQL's ``JSONB`` is resolved when a PostgreSQL connection compiles a statement: importing
the ORM and the PostgreSQL dialect costs a ``gapbench run`` about 0.2 s of CPU per process on
SQLite for nothing (the DDL is the same as the declarative models it replaces).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from gapbench.store.rows import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "metadata", "meta", "metric_values", "results", "runs", "sample_records"]


class _JSONOrJSONB(TypeDecorator):
    """JSON on SQLite (and anything else), JSONB on PostgreSQL (imported only there)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


#: JSON on SQLite (and anything else), JSONB on PostgreSQL.
JSONType = _JSONOrJSONB()
#: SQLite only auto-increments ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(64), unique=True, nullable=False),
    Column("task", String(200), nullable=False),
    Column("model", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seed", BigInteger, nullable=True),
    Column("git_hash", String(64), nullable=True, index=True),
    Column("config_hash", String(64), nullable=True, index=True),
    Column("gapbench_version", String(64), nullable=True),
    Column("provenance", JSONType, nullable=True),
    Column("latency", JSONType, nullable=True),
    # any further top-level keys of the run dict, so ``get_run`` gives back what was saved
    Column("extra", JSONType, nullable=True),
    Index("ix_runs_task_model_created", "task", "model", "created_at"),
    Index("ix_runs_created", "created_at"),
)

results = Table(
    "results", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_pk", BigId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("shift", String(100), nullable=False),
    Column("severity", Double, nullable=True),
    # True when the saved severity was an int (1..5), so it comes back as one
    Column("severity_int", Boolean, nullable=False, default=False),
    Column("extra", JSONType, nullable=True),
    Index("ix_results_shift", "shift", "severity"),
)

metric_values = Table(
    "metric_values", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("result_id", BigId, ForeignKey("results.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("value", Double, nullable=True),
    Column("ci_lo", Double, nullable=True),
    Column("ci_hi", Double, nullable=True),
    UniqueConstraint("result_id", "name", name="uq_metric_values_result_name"),
    Index("ix_metric_values_name", "name"),
)

sample_records = Table(
    "sample_records", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_pk", BigId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("sample_id", String(500), nullable=False),
    Column("shift", String(100), nullable=False),
    Column("severity", Double, nullable=True),
    Column("severity_int", Boolean, nullable=False, default=False),
    Column("payload", JSONType, nullable=True),
    Index("ix_sample_records_run_shift", "run_pk", "shift", "severity"),
)

#: key/value facts about the database itself (schema version)
meta = Table(
    "gapbench_meta", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", String(500), nullable=False),
)
