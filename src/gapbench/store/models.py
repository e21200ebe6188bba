"""SQLAlchemy models of the results store: runs, results, metric values, sample records.

::

    runs            one evaluation: task x model, its provenance (JSON + indexed git/config hash)
     └ results      one row per (run, shift, severity); shift "none" + severity NULL is the clean run
        └ metric_values   one row per (result, metric name): value, ci_lo, ci_hi (NULL = undefined)
     └ sample_records     one row per (run, sample, shift, severity) with the rest as a JSON payload

The same schema serves SQLite (the embedded default) and PostgreSQL (``JSON`` becomes ``JSONB``,
integer keys of the big table become ``BIGINT``). This module imports SQLAlchemy at import time,
so only :mod:`gapbench.store.store` imports it, and only when a store is opened.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1

#: JSON on SQLite (and anything else), JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")
#: SQLite only auto-increments ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    task: Mapped[str] = mapped_column(String(200), nullable=False)
    model: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    git_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    config_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    gapbench_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provenance: Mapped[Any] = mapped_column(JSONType, nullable=True)
    latency: Mapped[Any] = mapped_column(JSONType, nullable=True)
    #: any further top-level keys of the run dict, so ``get_run`` gives back what was saved
    extra: Mapped[Any] = mapped_column(JSONType, nullable=True)

    __table_args__ = (
        Index("ix_runs_task_model_created", "task", "model", "created_at"),
        Index("ix_runs_created", "created_at"),
    )


class Result(Base):
    __tablename__ = "results"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    shift: Mapped[str] = mapped_column(String(100), nullable=False)
    severity: Mapped[float | None] = mapped_column(Double, nullable=True)
    #: True when the saved severity was an int (1..5), so it comes back as one
    severity_int: Mapped[bool] = mapped_column(nullable=False, default=False)
    extra: Mapped[Any] = mapped_column(JSONType, nullable=True)

    __table_args__ = (Index("ix_results_shift", "shift", "severity"),)


class MetricValueRow(Base):
    __tablename__ = "metric_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    result_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("results.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    value: Mapped[float | None] = mapped_column(Double, nullable=True)
    ci_lo: Mapped[float | None] = mapped_column(Double, nullable=True)
    ci_hi: Mapped[float | None] = mapped_column(Double, nullable=True)

    __table_args__ = (
        UniqueConstraint("result_id", "name", name="uq_metric_values_result_name"),
        Index("ix_metric_values_name", "name"),
    )


class SampleRecord(Base):
    __tablename__ = "sample_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    )
    sample_id: Mapped[str] = mapped_column(String(500), nullable=False)
    shift: Mapped[str] = mapped_column(String(100), nullable=False)
    severity: Mapped[float | None] = mapped_column(Double, nullable=True)
    severity_int: Mapped[bool] = mapped_column(nullable=False, default=False)
    payload: Mapped[Any] = mapped_column(JSONType, nullable=True)

    __table_args__ = (Index("ix_sample_records_run_shift", "run_pk", "shift", "severity"),)


class Meta(Base):
    """Key/value facts about the database itself (schema version)."""

    __tablename__ = "gapbench_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), nullable=False)
