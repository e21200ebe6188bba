"""Pruning the response cache: last_used (batched touches, migration of the previous schema), info,
prune by age / size / model, least recently used first, VACUUM, crash safety of a prune."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from gapbench.errors import InputError
from gapbench.runner import cache as cache_mod
from gapbench.runner.cache import CacheKey, ResponseCache
from gapbench.runner.cache_prune import (
    cache_info,
    match_fingerprints,
    parse_age,
    parse_size,
    prune_cache,
)

# the schema of the file as gapbench wrote it before last_used existed (copied from git history)
PREVIOUS_SCHEMA = """
CREATE TABLE responses_v2 (
    fingerprint TEXT NOT NULL, settings TEXT NOT NULL, sample_key TEXT NOT NULL, shift TEXT NOT NULL,
    params TEXT NOT NULL, seed INTEGER NOT NULL, response TEXT NOT NULL, timings TEXT, created REAL NOT NULL,
    PRIMARY KEY (fingerprint, settings, sample_key, shift, params, seed)
) WITHOUT ROWID;
CREATE TABLE responses (fingerprint TEXT, key TEXT, shift TEXT, severity INTEGER, prediction TEXT);
"""


def _last_used(path: Path) -> dict[tuple[str, str], float | None]:
    conn = sqlite3.connect(path)
    try:
        return {(fp, sk): lu for fp, sk, lu in conn.execute("SELECT fingerprint, sample_key, last_used FROM "
                                                             "responses_v2")}
    finally:
        conn.close()


def _fill(path: Path, fp: str, n: int, created: float, size: int = 100) -> None:
    with ResponseCache(path) as rc:
        rc.put_many(CacheKey(fp), [(f"k{i}", {"t": "x" * size}, {"inference": 0.1}) for i in range(n)])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE responses_v2 SET created=?, last_used=? WHERE fingerprint=?", (created, created, fp))
    conn.commit()
    conn.close()


def test_hits_are_touched_in_a_batch_not_one_write_each(tmp_path: Path, monkeypatch) -> None:
    f = tmp_path / "c.sqlite"
    _fill(f, "fp", 5, created=1000.0)
    rc = ResponseCache(f)
    assert set(rc.get_many(CacheKey("fp"), ["k0", "k1", "nope"])) == {"k0", "k1"}
    assert _last_used(f)[("fp", "k0")] == 1000.0  # a hit wrote nothing yet
    rc.close()
    lu = _last_used(f)
    assert lu[("fp", "k0")] > 1000.0 and lu[("fp", "k1")] > 1000.0 and lu[("fp", "k2")] == 1000.0
    with ResponseCache(f) as rc:  # used within TOUCH_RESOLUTION_S: a hit writes nothing at all
        rc.get_many(CacheKey("fp"), ["k0"])
    assert _last_used(f)[("fp", "k0")] == lu[("fp", "k0")]
    # a write flushes the noted hits in its own transaction; TOUCH_BATCH hits flush by themselves
    monkeypatch.setattr(cache_mod, "TOUCH_BATCH", 2)
    with ResponseCache(f) as rc:
        rc.get_many(CacheKey("fp"), ["k2"])
        assert _last_used(f)[("fp", "k2")] == 1000.0
        rc.get_many(CacheKey("fp"), ["k3"])
        assert _last_used(f)[("fp", "k2")] > 1000.0 and _last_used(f)[("fp", "k3")] > 1000.0
        rc.get_many(CacheKey("fp"), ["k4"])
        rc.put_many(CacheKey("other"), [("z", 1, None)])
        assert _last_used(f)[("fp", "k4")] > 1000.0


def test_a_file_of_the_previous_schema_is_migrated_and_still_read(tmp_path: Path) -> None:
    f = tmp_path / "old.sqlite"
    conn = sqlite3.connect(f)
    conn.executescript(PREVIOUS_SCHEMA)
    conn.executemany("INSERT INTO responses_v2 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [("fp", "", f"k{i}", "none", "{}", -1, '{"t": 1}', None, 100.0 + i) for i in range(4)])
    conn.execute("INSERT INTO responses VALUES ('fp', 'k', 'none', NULL, '1')")
    conn.commit()
    conn.close()
    info = cache_info(f)  # info migrates too; old rows count as used when created
    assert info.entries == 4 and info.legacy_entries == 1
    assert (info.oldest_used, info.newest_used) == (100.0, 103.0)
    with ResponseCache(f) as rc:
        assert rc.get_many(CacheKey("fp"), ["k0"])["k0"].response == {"t": 1}
        rc.put_many(CacheKey("fp"), [("new", {"t": 2}, None)])
    lu = _last_used(f)
    assert lu[("fp", "k1")] is None and lu[("fp", "k0")] > 1000 and lu[("fp", "new")] > 1000
    report = prune_cache(f, older_than_s=3600)  # k1..k3 were last used at t=101..103
    assert (report.deleted, report.kept) == (3, 2)
    assert any("first cache schema" in n for n in report.notes)
    tables = {r[0] for r in sqlite3.connect(f).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"responses_v2"}


def test_info_counts_per_model(tmp_path: Path) -> None:
    f = tmp_path / "c.sqlite"
    _fill(f, "a", 3, created=10.0)
    _fill(f, "b", 5, created=20.0)
    info = cache_info(tmp_path / "c.sqlite")
    assert [(m.fingerprint, m.entries) for m in info.models] == [("b", 5), ("a", 3)]
    assert (info.entries, info.oldest_used, info.newest_used) == (8, 10.0, 20.0)
    assert info.file_bytes == f.stat().st_size + (Path(f"{f}-wal").stat().st_size if Path(f"{f}-wal").exists()
                                                   else 0)
    assert info.to_json()["models"][0]["fingerprint"] == "b"
    with pytest.raises(FileNotFoundError, match="no response cache"):
        cache_info(tmp_path / "missing.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(InputError, match="a gapbench response cache"):
        cache_info(other)


def test_older_than_and_model_scope(tmp_path: Path) -> None:
    f = tmp_path / "c.sqlite"
    now = time.time()
    _fill(f, "a", 4, created=now - 40 * 86400)
    _fill(f, "b", 4, created=now - 40 * 86400)
    _fill(f, "c", 4, created=now - 86400)
    dry = prune_cache(f, older_than_s=parse_age("30d"), fingerprints=["a"], dry_run=True, now=now)
    assert (dry.deleted, dry.kept, dry.dry_run) == (4, 8, True) and cache_info(f).entries == 12
    assert prune_cache(f, older_than_s=parse_age("30d"), fingerprints=["a"], now=now).deleted == 4
    assert {m.fingerprint for m in cache_info(f).models} == {"b", "c"}
    assert prune_cache(f, older_than_s=parse_age("30d"), now=now).deleted == 4
    assert prune_cache(f, fingerprints=["c"]).deleted == 4  # a model alone: all its entries
    assert cache_info(f).entries == 0
    with pytest.raises(InputError, match="what to prune"):
        prune_cache(f)


def test_max_size_deletes_least_recently_used_first_and_shrinks_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.sqlite"
    for j, fp in enumerate(("old", "mid", "new")):
        _fill(f, fp, 400, created=1000.0 * (j + 1), size=1000)
    with ResponseCache(f) as rc:  # using the old model's entries now makes them the newest
        assert len(rc.get_many(CacheKey("old"), [f"k{i}" for i in range(400)])) == 400
    before = cache_info(f).file_bytes
    report = prune_cache(f, max_bytes=before // 2)
    assert report.bytes_after <= before // 2 and report.bytes_after == cache_info(f).file_bytes
    left = {m.fingerprint: m.entries for m in cache_info(f).models}
    assert left["old"] == 400 and "mid" not in left, left  # mid was the least recently used
    assert report.deleted == 1200 - sum(left.values())
    assert prune_cache(f, max_bytes=10**12).deleted == 0  # already fits: nothing goes


def test_a_failed_prune_deletes_nothing(tmp_path: Path, monkeypatch) -> None:
    """The deletion is one transaction: a statement failing midway rolls every row back."""
    f = tmp_path / "c.sqlite"
    _fill(f, "a", 50, created=1.0)
    from gapbench.runner import cache_prune

    calls = []
    real_execute = sqlite3.Connection.executemany

    class Conn(sqlite3.Connection):
        def executemany(self, sql, rows):  # noqa: ANN001, ANN202 - delete half, then fail
            if sql.startswith("DELETE"):
                rows = list(rows)
                real_execute(self, sql, rows[: len(rows) // 2])
                calls.append(len(rows))
                raise sqlite3.OperationalError("disk I/O error")
            return real_execute(self, sql, rows)

    real_connect = sqlite3.connect
    monkeypatch.setattr(cache_prune.sqlite3, "connect", lambda *a, **k: real_connect(*a, factory=Conn, **k))
    with pytest.raises(InputError, match="disk I/O error"):
        prune_cache(f, older_than_s=0)
    monkeypatch.undo()
    assert calls == [50] and cache_info(f).entries == 50


def test_parse_size_and_age() -> None:
    assert parse_size("2GB") == 2 * 10**9 and parse_size("1GiB") == 2**30 and parse_size("1500") == 1500
    assert parse_size("1.5 mb") == 1_500_000
    assert parse_age("30d") == 30 * 86400 and parse_age("2w") == 14 * 86400 and parse_age("90m") == 5400
    for bad in ("2XB", "", "-1GB"):
        with pytest.raises(InputError, match="max-size"):
            parse_size(bad)
    with pytest.raises(InputError, match="older-than"):
        parse_age("30 days")


def test_match_fingerprints(tmp_path: Path) -> None:
    f = tmp_path / "c.sqlite"
    _fill(f, "abcdef123456", 1, created=1.0)
    _fill(f, "abcdef999999", 1, created=1.0)
    assert match_fingerprints(f, "abcdef123456") == ["abcdef123456"]
    assert match_fingerprints(f, "abcdef1") == ["abcdef123456"]
    with pytest.raises(InputError, match="prefix"):
        match_fingerprints(f, "abcdef")
    assert match_fingerprints(f, "digits-logreg", resolve=lambda name: f"fp-of-{name}") == ["fp-of-digits-logreg"]
