"""``python:`` models: what the fingerprint covers, the working directory on the import path,
and one-line errors (issue 6)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gapbench.cli import main
from gapbench.errors import InputError, ModelError
from gapbench.models.python_callable import PythonCallableModel, code_files

PREDICT = """\
import numpy as np
{imports}

def predict(batch):
    return [np.eye(10)[{index}] for _ in batch]
"""


@pytest.fixture()
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from ``tmp_path`` with sys.path restored and the modules written there forgotten afterwards.

    Only modules loaded from ``tmp_path`` are dropped: dropping a library first imported during the
    test (sqlalchemy, say) would leave two copies of it in the process for later tests.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    root = str(tmp_path)
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(root):
            sys.modules.pop(name, None)


def _fp(spec: str) -> str:
    for name in [m for m in sys.modules if m.split(".")[0] in ("mypkg", "my_module", "helper", "localpkg")]:
        sys.modules.pop(name)  # a new process would import afresh
    return PythonCallableModel.from_spec(spec).fingerprint()


def test_package_function_in_another_module_follows_every_module(isolated: Path) -> None:
    pkg = isolated / "mypkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .impl import predict\n")
    (pkg / "impl.py").write_text(PREDICT.format(imports="from .sub import util", index=0))
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "util.py").write_text("K = 0\n")
    (isolated / "unrelated.py").write_text("x = 1\n")
    fp = _fp("mypkg:predict")
    assert _fp("mypkg:predict") == fp
    (isolated / "unrelated.py").write_text("x = 2\n")  # outside the package: no effect
    assert _fp("mypkg:predict") == fp
    (pkg / "impl.py").write_text(PREDICT.format(imports="from .sub import util", index=1))
    fp2 = _fp("mypkg:predict")
    assert fp2 != fp
    (pkg / "sub" / "util.py").write_text("K = 1\n")  # a nested module of the package counts too
    assert _fp("mypkg:predict") != fp2


def test_top_level_module_follows_its_local_imports_and_not_the_directory(isolated: Path) -> None:
    (isolated / "helper.py").write_text("K = 0\n")
    (isolated / "localpkg").mkdir()
    (isolated / "localpkg" / "__init__.py").write_text("")
    (isolated / "localpkg" / "deep.py").write_text("Y = 0\n")
    (isolated / "my_module.py").write_text(PREDICT.format(imports="import helper\nimport localpkg.deep", index=0))
    (isolated / "other.py").write_text("z = 0\n")
    (isolated / "data").mkdir()
    (isolated / "data" / "gen.py").write_text("w = 0\n")
    fp = _fp("my_module:predict")
    files = {p.name for p in code_files(sys.modules["my_module"])}
    assert files == {"my_module.py", "helper.py", "__init__.py", "deep.py"}
    (isolated / "other.py").write_text("z = 1\n")  # not imported: no effect
    (isolated / "data" / "gen.py").write_text("w = 1\n")  # never a walk of the working directory
    assert _fp("my_module:predict") == fp
    (isolated / "helper.py").write_text("K = 1\n")
    fp2 = _fp("my_module:predict")
    assert fp2 != fp
    (isolated / "localpkg" / "deep.py").write_text("Y = 1\n")  # a package beside it that it imports
    assert _fp("my_module:predict") != fp2


def _run(tmp: Path, capsys: pytest.CaptureFixture[str], model: str) -> dict:
    capsys.readouterr()
    code = main(["run", "digits", "--model", model, "--limit", "20", "--no-ci", "--store",
                 f"sqlite:///{tmp / 's.db'}", "--out", str(tmp / "out"), "--format", "json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    return json.loads(cap.out)


def test_readme_form_from_the_working_directory_and_stale_cache(isolated: Path, capsys) -> None:
    (isolated / "helper.py").write_text("K = 0\n")
    (isolated / "my_module.py").write_text(PREDICT.format(imports="import helper", index="helper.K"))
    sys.path[:] = [p for p in sys.path if p not in ("", str(isolated))]
    first = _run(isolated, capsys, "python:my_module:predict")
    assert first["results"][0]["n_cached"] == 0
    sys.modules.pop("my_module"), sys.modules.pop("helper")
    assert _run(isolated, capsys, "python:my_module:predict")["results"][0]["n_cached"] == 20
    (isolated / "helper.py").write_text("K = 1\n")  # the edit changes every prediction
    sys.modules.pop("my_module"), sys.modules.pop("helper")
    third = _run(isolated, capsys, "python:my_module:predict")
    assert third["results"][0]["n_cached"] == 0
    assert third["results"][0]["metrics"]["top1"]["value"] != first["results"][0]["metrics"]["top1"]["value"]


@pytest.mark.parametrize(("source", "spec", "message"), [
    (None, "nosuchmod:f", "model 'python:nosuchmod:f': expected an importable module 'nosuchmod'"),
    ("import nosuchdep_xyz\n", "brokenmod:f", "importing 'brokenmod' failed: No module named 'nosuchdep_xyz'"),
    ("def f(:\n", "brokenmod:f", "brokenmod.py:1:"),
])
def test_unimportable_model_is_one_line(isolated: Path, capsys, source: str | None, spec: str,
                                        message: str) -> None:
    if source is not None:
        (isolated / "brokenmod.py").write_text(source)
    assert main(["run", "digits", "--model", f"python:{spec}", "--limit", "5", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gapbench: error: ") and message in err, err
    assert "<input>" not in err
    with pytest.raises((InputError, ModelError)):
        PythonCallableModel.from_spec(spec)
