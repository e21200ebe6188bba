"""The response cache: model work is saved per batch, so a crashed run resumes where it died.

One SQLite file in WAL mode. A row is keyed by ``(model fingerprint, settings, sample key, shift,
params, seed)`` and holds the model's *response* (the adapter's output before the task's answer
extraction, so a new extraction rule re-scores without re-running the model) and the stage
timings of the run that computed it (so a rerun served from the cache still reports latency).
``settings`` hashes what changes a remote model's answer (prompt template, generation settings).
The clean cell's seed is stored as -1: a clean prediction does not depend on the run seed.

The runner commits after every batch, so a run killed at any instant loses at most the batch in
flight. A damaged row is recomputed; a damaged or unwritable file is one :class:`CacheError`.

``last_used`` (for pruning least-recently-used entries, :mod:`gapbench.runner.cache_prune`) is set
on write and has a resolution of :data:`TOUCH_RESOLUTION_S`: a hit on an entry used more recently
costs nothing more; an older one is noted in memory, and the notes are written (one ``UPDATE ...
IN`` per chunk of keys) in the next batch's write transaction, every :data:`TOUCH_BATCH` hits, or
on ``close`` -- never one disk write per hit. A touch lost to a crash only makes an entry look
older (``benchmarks/cache_hits.py`` measures the cost). Files written before ``last_used`` existed
get the column on open (one ``ALTER TABLE``, no rewrite); their rows count as used when created.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_FILENAME = "responses.sqlite"
TABLE = "responses_v2"  # v1 held extracted predictions keyed by (fingerprint, key, shift, severity)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    fingerprint TEXT NOT NULL,
    settings    TEXT NOT NULL,
    sample_key  TEXT NOT NULL,
    shift       TEXT NOT NULL,
    params      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    response    TEXT NOT NULL,
    timings     TEXT,
    created     REAL NOT NULL,
    last_used   REAL,
    PRIMARY KEY (fingerprint, settings, sample_key, shift, params, seed)
) WITHOUT ROWID;
"""

_CHUNK = 400  # SQLite's bound-parameter limit is 999 on old builds
TOUCH_BATCH = 20_000  # hits noted in memory before their last_used is written
TOUCH_RESOLUTION_S = 3600.0  # a hit rewrites last_used only when it is older than this
_COLUMNS = "fingerprint, settings, sample_key, shift, params, seed, response, timings, created, last_used"


class CacheError(RuntimeError):
    """The cache file cannot be used (damaged, not a database, not writable)."""


@dataclass(frozen=True)
class CacheKey:
    """Everything but the sample that a cached response depends on."""

    fingerprint: str
    settings: str = ""
    shift: str = "none"
    params: str = "{}"  # canonical JSON of the applied shift parameters
    seed: int = -1


@dataclass(frozen=True)
class CachedResponse:
    response: Any
    timings: dict[str, float] | None


def default_cache_dir(out: str | os.PathLike[str] | None = None) -> Path:
    """``<out>/cache`` when an output dir is given, else ``$GAPBENCH_CACHE_DIR`` or the user cache dir."""
    if out is not None:
        return Path(out) / "cache"
    from gapbench.core.cache_dirs import user_cache

    return user_cache()


class ResponseCache:
    """Responses and their stage timings by :class:`CacheKey` and sample key, in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        if path.suffix not in (".sqlite", ".db", ".sqlite3"):
            path = path / CACHE_FILENAME
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False,
                                         isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across kills
            self._conn.executescript(_SCHEMA)
            self._lru = add_last_used(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc) from exc
        self._touched: dict[CacheKey, list[str]] = {}
        self._n_touched = 0

    def _error(self, exc: BaseException) -> CacheError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CacheError(f"response cache {self.path}: {text}; delete that file, or run without the cache")

    def get_many(self, key: CacheKey, sample_keys: Sequence[str]) -> dict[str, CachedResponse]:
        """The cached responses of those ``sample_keys`` that are present and readable."""
        found: dict[str, CachedResponse] = {}
        stale = [time.time() - TOUCH_RESOLUTION_S] if self._lru else []
        used = "COALESCE(last_used, created) < ?" if self._lru else "0"
        with self._lock:
            try:
                for i in range(0, len(sample_keys), _CHUNK):
                    chunk = list(sample_keys[i:i + _CHUNK])
                    marks = ",".join("?" * len(chunk))
                    rows = self._conn.execute(
                        f"SELECT sample_key, response, timings, {used} FROM {TABLE} WHERE fingerprint=? "
                        f"AND settings=? AND shift=? AND params=? AND seed=? AND sample_key IN ({marks})",
                        [*stale, key.fingerprint, key.settings, key.shift, key.params, key.seed, *chunk],
                    ).fetchall()
                    old = []
                    for sk, text, timings, is_old in rows:
                        try:
                            t = json.loads(timings) if timings else None
                            found[sk] = CachedResponse(json.loads(text), t if isinstance(t, dict) else None)
                        except ValueError:  # a damaged row is simply recomputed
                            continue
                        if is_old:
                            old.append(sk)
                    if old:
                        self._touched.setdefault(key, []).extend(old)
                        self._n_touched += len(old)
                if self._n_touched >= TOUCH_BATCH:
                    self._try_touch()
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
        return found

    def _try_touch(self) -> None:
        """Write the noted hits in their own transaction; on a read-only file drop them: ``last_used``
        is advisory and reading must keep working (lock held)."""
        try:
            self._conn.execute("BEGIN")
            try:
                self._flush_touches(time.time())
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error:
            self._touched, self._n_touched = {}, 0

    def _flush_touches(self, now: float) -> None:
        """Write the noted hits' ``last_used`` (inside the caller's transaction, lock held)."""
        for key, keys in self._touched.items():
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i:i + _CHUNK]
                self._conn.execute(
                    f"UPDATE {TABLE} SET last_used=? WHERE fingerprint=? AND settings=? AND shift=? AND params=? "
                    f"AND seed=? AND sample_key IN ({','.join('?' * len(chunk))})",
                    [now, key.fingerprint, key.settings, key.shift, key.params, key.seed, *chunk])
        self._touched, self._n_touched = {}, 0

    def put_many(self, key: CacheKey, items: Iterable[tuple[str, Any, dict[str, float] | None]]) -> None:
        """Store ``(sample_key, response, timings)`` rows and commit: all of the batch or none."""
        now = time.time()
        rows = [(key.fingerprint, key.settings, sk, key.shift, key.params, key.seed,
                 json.dumps(resp, separators=(",", ":")),
                 None if t is None else json.dumps(t, separators=(",", ":")), now, now)
                for sk, resp, t in items]
        cols = _COLUMNS if self._lru else _COLUMNS.rsplit(",", 1)[0]
        if not rows:
            return
        with self._lock:
            try:
                self._conn.execute("BEGIN")
                try:
                    self._conn.executemany(
                        f"INSERT OR REPLACE INTO {TABLE} ({cols}) VALUES ({', '.join('?' * len(cols.split(',')))})",
                        rows if self._lru else [r[:-1] for r in rows])
                    self._flush_touches(now)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def count(self, fingerprint: str | None = None) -> int:
        with self._lock:
            if fingerprint is None:
                return self._conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
            return self._conn.execute(
                f"SELECT COUNT(*) FROM {TABLE} WHERE fingerprint=?", (fingerprint,)).fetchone()[0]

    def clear(self, fingerprint: str | None = None) -> None:
        with self._lock:
            if fingerprint is None:
                self._conn.execute(f"DELETE FROM {TABLE}")
            else:
                self._conn.execute(f"DELETE FROM {TABLE} WHERE fingerprint=?", (fingerprint,))

    def close(self) -> None:
        with self._lock:
            if self._touched:
                self._try_touch()
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def add_last_used(conn: sqlite3.Connection) -> bool:
    """Give a file of the previous schema its ``last_used`` column; False where it cannot (read-only)."""
    cols = {row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})")}
    if "last_used" in cols:
        return True
    try:
        conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN last_used REAL")
    except sqlite3.OperationalError as exc:
        if "duplicate column" in str(exc):  # another process migrated it first
            return True
        if "readonly" in str(exc) or "read-only" in str(exc):
            return False
        raise
    return True


def open_cache(cache: Any) -> ResponseCache | None:
    """``True`` -> default dir; a path -> that dir/file; a ResponseCache -> itself; falsy -> None."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResponseCache):
        return cache
    if cache is True:
        return ResponseCache(default_cache_dir())
    return ResponseCache(cache)
