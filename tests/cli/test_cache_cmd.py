"""``gapbench cache info`` and ``gapbench cache prune`` on the cache a real ``gapbench run`` wrote."""
from __future__ import annotations

import json
from pathlib import Path

from gapbench.cli import main


def _call(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _run_digits(tmp: Path, capsys, *extra: str) -> None:
    code, _, err = _call(capsys, "run", "digits", "--limit", "30", "--no-ci", "--store", f"sqlite:///{tmp / 's.db'}",
                         "--out", str(tmp / "out"), "--format", "json", *extra)
    assert code == 0, err


def test_info_and_prune_by_model_name(tmp_path: Path, capsys) -> None:
    _run_digits(tmp_path, capsys)
    _run_digits(tmp_path, capsys, "--shift", "gaussian_noise", "--severities", "1")
    code, out, _ = _call(capsys, "cache", "info", "--out", str(tmp_path / "out"), "--format", "json")
    info = json.loads(out)
    assert code == 0 and info["entries"] == 60 and len(info["models"]) == 1
    assert info["path"] == str(tmp_path / "out" / "cache" / "responses.sqlite")
    assert set(info) == {"path", "file_bytes", "entries", "models", "oldest_used", "newest_used", "legacy_entries"}
    code, out, _ = _call(capsys, "cache", "info", "--out", str(tmp_path / "out"))
    assert code == 0 and "60 entries" in out and info["models"][0]["fingerprint"] in out
    code, out, _ = _call(capsys, "cache", "prune", "--cache", str(tmp_path / "out" / "cache"), "--model",
                         "digits-logreg", "--dry-run", "-f", "json")
    assert code == 0 and json.loads(out)["deleted"] == 60 and json.loads(out)["dry_run"] is True
    code, out, _ = _call(capsys, "cache", "prune", "--out", str(tmp_path / "out"), "--model", "builtin:digits-logreg")
    assert code == 0 and "deleted 60 entries, kept 0" in out
    _run_digits(tmp_path, capsys)  # the cache still works after a prune
    code, out, _ = _call(capsys, "cache", "info", "--out", str(tmp_path / "out"), "-f", "json")
    assert json.loads(out)["entries"] == 30


def test_bad_usage_is_one_line(tmp_path: Path, capsys) -> None:
    code, out, err = _call(capsys, "cache", "prune", "--out", str(tmp_path))
    assert code == 2 and out == "" and err.count("\n") == 1 and "--older-than" in err
    code, out, err = _call(capsys, "cache", "info", "--out", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "no response cache" in err
    _run_digits(tmp_path, capsys)
    code, out, err = _call(capsys, "cache", "prune", "--out", str(tmp_path / "out"), "--max-size", "2 lots")
    assert code == 2 and err.count("\n") == 1 and "--max-size" in err
    code, out, err = _call(capsys, "cache", "prune", "--out", str(tmp_path / "out"), "--model", "no-such-model")
    assert code == 2 and err.count("\n") == 1 and "no-such-model" in err
