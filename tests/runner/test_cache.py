"""The SQLite response cache: WAL, keyed by (fingerprint, sample key, shift, severity)."""
from __future__ import annotations

import sqlite3

from gapbench.runner.cache import ResponseCache, default_cache_dir, open_cache


def test_roundtrip_and_keys(tmp_path):
    with ResponseCache(tmp_path) as rc:
        assert rc.path == tmp_path / "responses.sqlite"
        rc.put_many("fp", [("k1", {"kind": "transcript", "text": "a"}), ("k2", {"kind": "transcript", "text": "b"})])
        rc.put_many("fp", [("k1", {"kind": "transcript", "text": "fog"})], shift="fog", severity=3)
        assert rc.get_many("fp", ["k1", "k2", "k3"]) == {
            "k1": {"kind": "transcript", "text": "a"}, "k2": {"kind": "transcript", "text": "b"}}
        assert rc.get_many("fp", ["k1"], "fog", 3) == {"k1": {"kind": "transcript", "text": "fog"}}
        assert rc.get_many("fp", ["k1"], "fog", 2) == {}
        assert rc.get_many("other", ["k1"]) == {}
        assert rc.count() == 3 and rc.count("fp") == 3
        rc.put_many("fp", [("k1", {"kind": "transcript", "text": "z"})])  # replace
        assert rc.get_many("fp", ["k1"])["k1"]["text"] == "z"
        many = [f"x{i}" for i in range(1200)]  # more than one IN-chunk
        rc.put_many("fp2", [(k, {"i": i}) for i, k in enumerate(many)])
        assert len(rc.get_many("fp2", many)) == 1200
        rc.clear("fp2")
        assert rc.count("fp2") == 0
    conn = sqlite3.connect(tmp_path / "responses.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_damaged_row_is_a_miss(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as rc:
        rc.put_many("fp", [("k", {"a": 1})])
        rc._conn.execute("UPDATE responses SET prediction='{not json'")
        assert rc.get_many("fp", ["k"]) == {}


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
