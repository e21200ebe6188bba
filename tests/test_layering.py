"""Layering rules the design states: metrics take values (no file loading), the library never
imports the CLI, and every module but the vendored normaliser stays under 500 lines."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "gapbench"


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_metrics_do_not_import_data_loaders() -> None:
    bad = {p.name: sorted(m for m in _imports(p) if m.startswith("gapbench.data"))
           for p in (SRC / "metrics").glob("*.py")}
    assert not {k: v for k, v in bad.items() if v}


def test_library_does_not_import_the_cli() -> None:
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
           if "cli" not in p.relative_to(SRC).parts and p.name != "__main__.py" and any(m.startswith("gapbench.cli") for m in _imports(p))]
    assert not bad


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > 500 and p.name != "normalizers.py"}
    assert not big
