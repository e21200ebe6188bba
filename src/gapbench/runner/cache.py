"""The response cache: raw-model work is saved per batch, so a crashed run resumes where it died.

One SQLite file in WAL mode. A row is keyed by ``(model fingerprint, sample key, shift,
severity)`` and holds the serialised typed prediction (:func:`prediction_to_json`). The runner
commits after every batch, so a run killed at any instant loses at most the batch in flight;
re-scoring (new metric settings, new bootstrap seed) reads everything from here and never calls
the model.

``severity`` None is stored as ``''`` (SQLite treats NULLs as distinct in a primary key).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

CACHE_FILENAME = "responses.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    fingerprint TEXT NOT NULL,
    sample_key  TEXT NOT NULL,
    shift       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    prediction  TEXT NOT NULL,
    created     REAL NOT NULL,
    PRIMARY KEY (fingerprint, sample_key, shift, severity)
) WITHOUT ROWID;
"""

_CHUNK = 500  # SQLite's bound-parameter limit is 999 on old builds


def default_cache_dir(out: str | os.PathLike[str] | None = None) -> Path:
    """``<out>/cache`` when an output dir is given, else ``$GAPBENCH_CACHE_DIR`` or the user cache dir."""
    if out is not None:
        return Path(out) / "cache"
    env = os.environ.get("GAPBENCH_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("gapbench"))


def _sev(severity: Any) -> str:
    return "" if severity is None else str(severity)


class ResponseCache:
    """Typed predictions by (fingerprint, sample key, shift, severity), in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        if path.suffix not in (".sqlite", ".db", ".sqlite3"):
            path = path / CACHE_FILENAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        self._conn.executescript(_SCHEMA)

    def get_many(self, fingerprint: str, keys: Sequence[str], shift: str = "none",
                 severity: Any = None) -> dict[str, dict[str, Any]]:
        """The cached predictions (as JSON dicts) for those of ``keys`` that are present."""
        found: dict[str, dict[str, Any]] = {}
        sev = _sev(severity)
        with self._lock:
            for i in range(0, len(keys), _CHUNK):
                chunk = list(keys[i:i + _CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT sample_key, prediction FROM responses WHERE fingerprint=? AND shift=? "
                    f"AND severity=? AND sample_key IN ({marks})",
                    [fingerprint, shift, sev, *chunk],
                ).fetchall()
                for key, text in rows:
                    try:
                        found[key] = json.loads(text)
                    except ValueError:  # a damaged row is simply recomputed
                        continue
        return found

    def put_many(self, fingerprint: str, items: Iterable[tuple[str, dict[str, Any]]],
                 shift: str = "none", severity: Any = None) -> None:
        """Store predictions and commit (one transaction: all of the batch or none of it)."""
        now = time.time()
        sev = _sev(severity)
        rows = [(fingerprint, key, shift, sev, json.dumps(pred, separators=(",", ":")), now)
                for key, pred in items]
        if not rows:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def count(self, fingerprint: str | None = None) -> int:
        with self._lock:
            if fingerprint is None:
                return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            return self._conn.execute(
                "SELECT COUNT(*) FROM responses WHERE fingerprint=?", (fingerprint,)).fetchone()[0]

    def clear(self, fingerprint: str | None = None) -> None:
        with self._lock:
            if fingerprint is None:
                self._conn.execute("DELETE FROM responses")
            else:
                self._conn.execute("DELETE FROM responses WHERE fingerprint=?", (fingerprint,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cache(cache: Any) -> ResponseCache | None:
    """``True`` -> default dir; a path -> that dir/file; a ResponseCache -> itself; falsy -> None."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResponseCache):
        return cache
    if cache is True:
        return ResponseCache(default_cache_dir())
    return ResponseCache(cache)
