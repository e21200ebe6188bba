"""Store fixtures: every store test runs on SQLite (a tmp file) and on PostgreSQL.

PostgreSQL comes from ``$GAPBENCH_TEST_PG_URL`` (see ``scripts/postgres.sh``); when that is unset
the session starts a throwaway cluster itself with the same script if the server binaries are
installed, and stops it at the end. Without PostgreSQL the postgres cases skip, except when
``$CI`` is set: then they fail. Each postgres test gets a fresh schema, dropped afterwards.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PG_SCRIPT = REPO / "scripts" / "postgres.sh"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required when CI is set: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _url_from(stdout: str) -> str | None:
    for line in stdout.splitlines():
        if line.startswith("export GAPBENCH_TEST_PG_URL="):
            return line.split("=", 1)[1].strip().strip("'\"")
    return None


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL URL for the session (``$GAPBENCH_TEST_PG_URL`` or a throwaway cluster)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'gapbench[postgres]')")
    url = os.environ.get("GAPBENCH_TEST_PG_URL", "").strip()
    if url:
        yield url
        return
    if shutil.which("bash") is None:
        _unavailable("GAPBENCH_TEST_PG_URL is unset and bash is missing to start a server")
    pg_dir = tempfile.mkdtemp(prefix="gapbench-pg-", dir="/tmp" if Path("/tmp").is_dir() else None)
    env = {
        **os.environ,
        "GAPBENCH_PG_DIR": pg_dir,
        "GAPBENCH_PG_PORT": str(_free_port()),
        "GAPBENCH_PG_INSTALL": "0",
    }
    try:
        proc = subprocess.run(
            ["bash", str(PG_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=180, check=False
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(pg_dir, ignore_errors=True)
        _unavailable("scripts/postgres.sh start timed out")
    url = _url_from(proc.stdout) if proc.returncode == 0 else None
    if url is None:
        shutil.rmtree(pg_dir, ignore_errors=True)
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        if proc.returncode == 3:
            _unavailable(
                "no PostgreSQL: set GAPBENCH_TEST_PG_URL or install the server "
                "(PG_ENV=\"$(bash scripts/postgres.sh start)\" && eval \"$PG_ENV\")"
            )
        _unavailable(f"could not start a throwaway PostgreSQL (rc {proc.returncode}): {tail}")
    try:
        yield url
    finally:
        subprocess.run(["bash", str(PG_SCRIPT), "stop"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(pg_dir, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """The session server, with a fresh schema first on the search path; dropped after the test."""
    import sqlalchemy as sa

    from gapbench.store import normalise_url

    base = sa.engine.make_url(normalise_url(pg_server_url))
    schema = f"gbtest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as e:
        admin.dispose()
        first = (str(e.orig).strip().splitlines() or [type(e.orig).__name__])[0]
        _unavailable(f"cannot connect to {base.render_as_string(hide_password=True)}: {first}")
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty store, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[object]:
    from gapbench.store import open_store

    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()
