"""A damaged, unreadable or read-only response cache through ``gapbench run`` (issue 6)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gapbench.cli import main


def _run(tmp: Path, capsys, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", "digits", "--limit", "12", "--no-ci", "--store", f"sqlite:///{tmp / 's.db'}",
                 "--out", str(tmp / "out"), "--format", "json", *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _cache(tmp: Path) -> Path:
    return tmp / "out" / "cache" / "responses.sqlite"


def test_garbage_cache_is_one_line_naming_the_file(tmp_path: Path, capsys) -> None:
    _cache(tmp_path).parent.mkdir(parents=True)
    _cache(tmp_path).write_bytes(b"this is not a database" * 200)
    code, out, err = _run(tmp_path, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"gapbench: error: response cache {_cache(tmp_path)}:") and "delete that file" in err
    code, out, _ = _run(tmp_path, capsys, "--no-cache")  # the way out works
    assert code == 0 and json.loads(out)["results"][0]["n"] == 12


def test_read_only_cache_is_one_line(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(tmp_path, capsys)[0] == 0
    real = sqlite3.connect

    def read_only(path, *args, **kwargs):  # noqa: ANN001, ANN202 - the cache file opened read-only
        if str(path).endswith("responses.sqlite"):
            return real(f"file:{path}?mode=ro", *args, uri=True, **kwargs)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    code, out, err = _run(tmp_path, capsys, "--limit", "20")  # 8 new samples to write
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert str(_cache(tmp_path)) in err and "delete that file" in err and "Traceback" not in err


def test_cache_error_names_the_no_cache_flag(tmp_path: Path, capsys) -> None:
    _cache(tmp_path).parent.mkdir(parents=True)
    _cache(tmp_path).write_bytes(b"x" * 4096)
    assert "--no-cache" in _run(tmp_path, capsys)[2]


@pytest.mark.parametrize("bad", [
    '{"kind":"class-scores","scores":[0.1,0.2]}',  # wrong width for 10 classes
    '{"kind":"class-scores","scores":[NaN,1,1,1,1,1,1,1,1,1]}',
    '{"kind":"class-scores"}',
    '{"kind":"no-such-kind","scores":[1]}',
    '[1, 2, 3]',
    'null',
    '{not json',
])
def test_wrong_shape_rows_are_recomputed(tmp_path: Path, capsys, bad: str) -> None:
    code, out, _ = _run(tmp_path, capsys)
    assert code == 0
    first = json.loads(out)["results"][0]
    with sqlite3.connect(_cache(tmp_path)) as db:
        (table,) = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        keys = [r[0] for r in db.execute(f"SELECT sample_key FROM {table}")][:5]
        db.executemany(f"UPDATE {table} SET response=? WHERE sample_key=?", [(bad, k) for k in keys])
    code, out, err = _run(tmp_path, capsys)
    assert code == 0, err
    again = json.loads(out)["results"][0]
    assert again["n_cached"] == 12 - len(keys) and again["metrics"] == first["metrics"]
    code, out, _ = _run(tmp_path, capsys)  # the recomputed rows replaced the damaged ones
    assert json.loads(out)["results"][0]["n_cached"] == 12
