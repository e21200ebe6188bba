"""What the response cache holds, and pruning it: by age, to a size, by model; least recently used first.

A cache grows with every model, shift, severity and seed ever run; nothing in a run removes
entries. :func:`cache_info` says what is there (file size, entries per model fingerprint, oldest
and newest use) and :func:`prune_cache` deletes entries, then ``VACUUM``s so the file shrinks:

* ``older_than_s``: entries not used for that long (``last_used``; a file written before that
  column existed counts its rows as used when created);
* ``max_bytes``: then the least recently used entries until the file fits (sizes are estimated
  from each row's bytes scaled to the file's pages, then checked after ``VACUUM``; a second pass
  deletes more where the estimate fell short);
* ``fingerprints``: only those models' entries are candidates (with no other criterion: all of
  them).

Deletion is one transaction, and SQLite's ``VACUUM`` is atomic, so a prune killed at any instant
leaves the old file or the pruned one. Prune while no run uses the cache: a running run would
recompute what was deleted under it, and ``VACUUM`` waits for (then fails on) the run's lock with
one :class:`~gapbench.errors.InputError` line. Legacy tables of the first schema (never read
since responses are cached) are dropped by any prune.
"""
from __future__ import annotations

import errno
import os
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gapbench.errors import InputError
from gapbench.runner.cache import _SCHEMA, CACHE_FILENAME, TABLE, add_last_used

LEGACY_TABLES = ("responses",)  # v1: extracted predictions, superseded by responses_v2
_USED = "COALESCE(last_used, created)"
_ROW_BYTES = ("length(fingerprint) + length(settings) + length(sample_key) + length(shift) + length(params) "
              "+ length(response) + COALESCE(length(timings), 0) + 40")  # + seed, created, last_used, header
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class ModelEntries:
    """One model fingerprint's share of the cache."""

    fingerprint: str
    entries: int
    bytes: int  # the rows' own bytes (keys, response, timings), before SQLite's page overhead
    oldest_used: float  # unix seconds
    newest_used: float


@dataclass
class CacheInfo:
    path: str
    file_bytes: int  # the database file plus its WAL
    entries: int
    models: list[ModelEntries]
    oldest_used: float | None
    newest_used: float | None
    legacy_entries: int = 0  # rows of the first schema's table (unused)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "models": [asdict(m) for m in self.models]}


@dataclass
class PruneReport:
    path: str
    deleted: int
    kept: int
    bytes_before: int
    bytes_after: int
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cache_file(path: str | os.PathLike[str]) -> Path:
    """The SQLite file of a cache given as its directory or its file (as ResponseCache takes it)."""
    p = Path(path)
    return p if p.suffix in (".sqlite", ".db", ".sqlite3") else p / CACHE_FILENAME


def parse_size(text: str) -> int:
    """``2GB``, ``500MiB``, ``1.5gb``, ``1000`` (bytes) -> bytes (SI and binary units)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise InputError(None, "--max-size", "a size such as 2GB, 500MB, 1GiB or a number of bytes", text)
    return int(float(m.group(1)) * _UNITS[unit])


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``2w``, ``90m``, ``3600s`` -> seconds."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw])\s*", str(text).lower())
    if not m:
        raise InputError(None, "--older-than", "an age such as 30d, 12h, 2w, 90m or 3600s", text)
    return float(m.group(1)) * _AGES[m.group(2)]


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no response cache here (a run writes one under <out>/cache)", str(path))
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if TABLE not in tables and not tables & set(LEGACY_TABLES):
            conn.close()
            raise InputError(path, None, f"a gapbench response cache (a table {TABLE})")
        conn.executescript(_SCHEMA)
        if not add_last_used(conn):
            conn.close()
            raise InputError(path, None, "a writable file: it was written by an older gapbench and needs "
                             "its last-used column added once")
    except sqlite3.Error as exc:
        raise _error(path, exc) from exc
    return conn


def _error(path: Path, exc: BaseException) -> InputError:
    """One line naming the file (an InputError: the CLI's '--no-cache' hint for runs does not apply here)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = "; is a run using the cache? prune when none is" if "locked" in text else ""
    return InputError(path, None, f"a usable SQLite response cache ({text}{hint})")


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def _legacy_count(conn: sqlite3.Connection) -> int:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in LEGACY_TABLES if t in tables)


def cache_info(path: str | os.PathLike[str]) -> CacheInfo:
    """Size, entries per model fingerprint (most first) and the oldest/newest use of a cache file."""
    file = cache_file(path)
    conn = _connect(file)
    try:
        rows = conn.execute(
            f"SELECT fingerprint, COUNT(*), SUM({_ROW_BYTES}), MIN({_USED}), MAX({_USED}) FROM {TABLE} "
            "GROUP BY fingerprint ORDER BY COUNT(*) DESC, fingerprint").fetchall()
        legacy = _legacy_count(conn)
    except sqlite3.Error as exc:
        raise _error(file, exc) from exc
    finally:
        conn.close()
    models = [ModelEntries(fp, int(n), int(b), float(lo), float(hi)) for fp, n, b, lo, hi in rows]
    return CacheInfo(str(file), _file_bytes(file), sum(m.entries for m in models), models,
                     min((m.oldest_used for m in models), default=None),
                     max((m.newest_used for m in models), default=None), legacy)


def match_fingerprints(path: str | os.PathLike[str], text: str, resolve: Any = None) -> list[str]:
    """The fingerprints ``text`` names: one in the cache exactly or by a unique prefix (>= 6
    characters), else the fingerprint of the model URI/name ``text`` (``resolve(text)``, by
    default loading the model; ``gapbench models`` lists the names)."""
    fps = [m.fingerprint for m in cache_info(path).models]
    if text in fps:
        return [text]
    hits = [fp for fp in fps if len(text) >= 6 and fp.startswith(text)]
    if len(hits) == 1:
        return hits
    if len(hits) > 1:
        raise InputError(None, "--model", "a fingerprint prefix naming one model", f"{text} ({len(hits)} match)")
    if resolve is None:
        from gapbench.models.registry import load_model

        def resolve(name: str) -> str:
            return load_model(name).fingerprint()
    return [resolve(text)]


def prune_cache(path: str | os.PathLike[str], *, older_than_s: float | None = None, max_bytes: int | None = None,
                fingerprints: Sequence[str] | None = None, dry_run: bool = False,
                now: float | None = None) -> PruneReport:
    """Delete entries (see the module docstring for the rules), then VACUUM; what was done."""
    if older_than_s is None and max_bytes is None and fingerprints is None:
        raise InputError(None, "prune", "what to prune: an age, a size or a model")
    file = cache_file(path)
    now = time.time() if now is None else now
    conn = _connect(file)
    before = _file_bytes(file)
    notes: list[str] = []
    try:
        scope, args = "1=1", []
        if fingerprints is not None:
            scope = f"fingerprint IN ({','.join('?' * len(fingerprints))})"
            args = list(fingerprints)
        total = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
        doomed = _doomed(conn, scope, args, older_than_s, max_bytes, now)
        if dry_run:
            legacy = _legacy_count(conn)
            if legacy:
                notes.append(f"{legacy} entries of the first cache schema would be dropped (never read)")
            return PruneReport(str(file), len(doomed), total - len(doomed), before, before, True, notes)
        deleted = _delete(conn, doomed)
        _drop_legacy(conn, notes)
        _vacuum(conn)
        if max_bytes is not None and _file_bytes(file) > max_bytes:  # the estimate fell short: once more
            more = _doomed(conn, scope, args, None, max_bytes, now, measured=_file_bytes(file))
            deleted += _delete(conn, more)
            _vacuum(conn)
        if max_bytes is not None and _file_bytes(file) > max_bytes:
            notes.append(f"the file is still over {max_bytes} bytes: the entries that may be deleted "
                         "(--model) are gone, or SQLite's own pages exceed the size")
        kept = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
    except sqlite3.Error as exc:
        raise _error(file, exc) from exc
    finally:
        conn.close()
    return PruneReport(str(file), deleted, kept, before, _file_bytes(file), False, notes)


def _doomed(conn: sqlite3.Connection, scope: str, args: list[Any], older_than_s: float | None,
            max_bytes: int | None, now: float, measured: int | None = None) -> list[tuple[Any, ...]]:
    """Primary keys to delete: in scope and too old; then, least recently used first, until the
    estimated file size fits ``max_bytes``."""
    key = "fingerprint, settings, sample_key, shift, params, seed"
    if older_than_s is None and max_bytes is None:
        return [tuple(r) for r in conn.execute(f"SELECT {key} FROM {TABLE} WHERE {scope}", args)]
    out: list[tuple[Any, ...]] = []
    if older_than_s is not None:
        out = [tuple(r) for r in conn.execute(
            f"SELECT {key} FROM {TABLE} WHERE {scope} AND {_USED} < ?", [*args, now - older_than_s])]
    if max_bytes is None:
        return out
    gone = set(out)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    used_pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    file_now = measured if measured is not None else used_pages * page
    rows = conn.execute(f"SELECT {key}, {_ROW_BYTES} FROM {TABLE}").fetchall()
    all_bytes = sum(r[-1] for r in rows) or 1
    scale = file_now / all_bytes  # file bytes per row byte (pages, b-tree, index overhead)
    size = scale * sum(r[-1] for r in rows if tuple(r[:-1]) not in gone)
    if size <= max_bytes:
        return out
    for r in conn.execute(f"SELECT {key}, {_ROW_BYTES} FROM {TABLE} WHERE {scope} ORDER BY {_USED}, created", args):
        k = tuple(r[:-1])
        if k in gone:
            continue
        out.append(k)
        gone.add(k)
        size -= scale * r[-1]
        if size <= max_bytes:
            break
    return out


def _vacuum(conn: sqlite3.Connection) -> None:
    """Rewrite the file without the freed pages, and fold the WAL back so the size on disk is true."""
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _delete(conn: sqlite3.Connection, keys: list[tuple[Any, ...]]) -> int:
    if not keys:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(f"DELETE FROM {TABLE} WHERE fingerprint=? AND settings=? AND sample_key=? AND shift=? "
                         "AND params=? AND seed=?", keys)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return len(keys)


def _drop_legacy(conn: sqlite3.Connection, notes: list[str]) -> None:
    n = _legacy_count(conn)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in LEGACY_TABLES:
        if t in tables:
            conn.execute(f"DROP TABLE {t}")
    if n:
        notes.append(f"dropped {n} entries of the first cache schema (never read)")
