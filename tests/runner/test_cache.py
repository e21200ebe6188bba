"""The SQLite response cache: WAL, keyed by model, settings, sample, shift, parameters and seed;
responses stored with the stage timings of the run that computed them."""
from __future__ import annotations

import sqlite3

import pytest

from gapbench.runner.cache import CacheError, CacheKey, ResponseCache, default_cache_dir, open_cache

CLEAN = CacheKey("fp")
FOG3 = CacheKey("fp", shift="fog", params='{"severity":3}', seed=0)


def test_roundtrip_and_keys(tmp_path):
    with ResponseCache(tmp_path) as rc:
        assert rc.path == tmp_path / "responses.sqlite"
        rc.put_many(CLEAN, [("k1", {"text": "a"}, {"inference": 0.5}), ("k2", {"text": "b"}, None)])
        rc.put_many(FOG3, [("k1", {"text": "fog"}, None)])
        got = rc.get_many(CLEAN, ["k1", "k2", "k3"])
        assert set(got) == {"k1", "k2"}
        assert got["k1"].response == {"text": "a"} and got["k1"].timings == {"inference": 0.5}
        assert got["k2"].timings is None
        assert rc.get_many(FOG3, ["k1"])["k1"].response == {"text": "fog"}
        for other in (CacheKey("fp", shift="fog", params='{"severity":3}', seed=1),  # another seed
                      CacheKey("fp", shift="fog", params='{"severity":2}', seed=0),  # other params
                      CacheKey("fp", settings="prompt-b"),  # other generation settings
                      CacheKey("other")):
            assert rc.get_many(other, ["k1"]) == {}
        assert rc.count() == 3 and rc.count("fp") == 3
        rc.put_many(CLEAN, [("k1", {"text": "z"}, None)])  # replace
        assert rc.get_many(CLEAN, ["k1"])["k1"].response["text"] == "z"
        many = [f"x{i}" for i in range(1200)]  # more than one IN-chunk
        rc.put_many(CacheKey("fp2"), [(k, {"i": i}, None) for i, k in enumerate(many)])
        assert len(rc.get_many(CacheKey("fp2"), many)) == 1200
        rc.clear("fp2")
        assert rc.count("fp2") == 0
    conn = sqlite3.connect(tmp_path / "responses.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_damaged_row_is_a_miss(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as rc:
        rc.put_many(CLEAN, [("k", {"a": 1}, None)])
        rc._conn.execute("UPDATE responses_v2 SET response='{not json'")
        assert rc.get_many(CLEAN, ["k"]) == {}


def test_garbage_or_unwritable_file_is_one_cache_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="bad.sqlite.*delete that file"):
        ResponseCache(bad)
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(CacheError, match="dir.sqlite"):
        ResponseCache(tmp_path / "dir.sqlite")


def test_open_cache_and_default_dir(tmp_path, monkeypatch):
    assert open_cache(False) is None and open_cache(None) is None
    assert default_cache_dir(tmp_path / "out") == tmp_path / "out" / "cache"
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    rc = open_cache(True)
    assert rc.path == tmp_path / "env" / "responses.sqlite"
    assert open_cache(rc) is rc
    rc.close()
    monkeypatch.delenv("GAPBENCH_CACHE_DIR")
    import platformdirs

    assert default_cache_dir() == __import__("pathlib").Path(platformdirs.user_cache_dir("gapbench"))
