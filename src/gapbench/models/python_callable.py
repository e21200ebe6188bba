"""``python:`` models: a plain callable taking a list of inputs and returning a list of predictions.

URIs: ``python:package.module:function`` or ``python:path/to/file.py:function`` (relative paths are
resolved from the working directory, which is on the import path as it is for a Python script).
The callable may optionally carry ``task_types`` (a tuple) and a ``preprocess(input)`` attribute.

Fingerprint: module name + qualified name + a hash of the code the callable runs, so an edit
anywhere in it invalidates cached responses:

* a function in a package: every ``.py`` file of its top-level package;
* a top-level module (or a ``file.py``): the module file and the modules of the same directory
  that it imports, transitively (never a walk of a whole directory such as the working directory);
* else the function's own source, else nothing more (then rename the function or clear the cache).
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gapbench.core.sample import content_hash
from gapbench.errors import InputError, ModelError
from gapbench.models.base import ModelAdapter


def load_file_module(path: Path) -> Any:
    path = path.resolve()
    if not path.is_file():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    # executed afresh on every load (an edited file is picked up), under a name derived from its path
    mod_name = "gapbench_user_" + hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise InputError(str(path), None, "a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(mod_name, None)
        raise
    return module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _split(spec: str) -> tuple[str, str]:
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise InputError(None, f"model 'python:{spec}'",
                         "'python:package.module:function' or 'python:path/to/file.py:function'")
    return where, attr


def _local_imports(path: Path) -> set[Path]:
    """Modules of ``path``'s directory that ``path`` imports (by name), transitively; a package
    of that directory that it imports counts with all its modules (it is code the callable runs)."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tree = ast.parse(current.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        for name in names:
            cand = current.parent / f"{name}.py"
            if cand.is_file():
                todo.append(cand)
            elif (current.parent / name / "__init__.py").is_file():  # a regular package beside it
                todo.extend(f.resolve() for f in (current.parent / name).rglob("*.py"))
    return seen


def code_files(module: Any) -> list[Path]:
    """The source files whose edits change what a callable of ``module`` computes."""
    file = getattr(module, "__file__", None)
    if not file or not str(file).endswith(".py"):
        return []
    path = Path(file).resolve()
    package = (getattr(module, "__package__", None) or "").split(".")[0]
    if package:
        top = sys.modules.get(package)
        roots = [Path(p) for p in getattr(top, "__path__", [])]
        if roots:
            return sorted(f.resolve() for r in roots for f in r.rglob("*.py"))
    return sorted(_local_imports(path))


def _source_hash(fn: Any, module: Any) -> str | None:
    files = code_files(module)
    if files:
        h = hashlib.blake2b(digest_size=16)
        try:
            for f in files:
                h.update(str(f.name).encode())
                h.update(f.read_bytes())
            return h.hexdigest()
        except OSError:
            pass
    for obj in (module, fn):
        try:
            src = inspect.getsource(obj)
        except (OSError, TypeError):
            continue
        return hashlib.blake2b(src.encode(), digest_size=16).hexdigest()
    return None


class PythonCallableModel(ModelAdapter):
    """Wrap ``fn(list_of_inputs) -> list_of_predictions``."""

    def __init__(self, fn: Callable[[list[Any]], Any], *, name: str | None = None,
                 module: Any = None) -> None:
        if not callable(fn):
            raise InputError(None, f"model {name or fn!r}", "a callable", type(fn).__name__)
        self.fn = fn
        self.module = module if module is not None else inspect.getmodule(fn)
        self.qualname = getattr(fn, "__qualname__", type(fn).__qualname__)
        self.module_name = getattr(fn, "__module__", None) or getattr(self.module, "__name__", "?")
        self.name = name or f"python:{self.module_name}:{self.qualname}"
        self.task_types = tuple(getattr(fn, "task_types", ()) or ())
        pre = getattr(fn, "preprocess", None)
        if callable(pre):
            self.preprocess = pre  # type: ignore[method-assign]
        self._fingerprint: str | None = None

    @classmethod
    def from_spec(cls, spec: str) -> PythonCallableModel:
        """``module:function`` or ``path/to/file.py:function`` (the part after ``python:``)."""
        where, attr = _split(spec)
        if where.endswith(".py") or "/" in where or "\\" in where:
            module = load_file_module(Path(where))
            # a file module's import name is synthetic: name it by the file instead
            module_label = Path(where).name
        else:
            cwd = os.getcwd()
            if cwd not in sys.path and "" not in sys.path:
                sys.path.insert(0, cwd)  # as Python does for a script run from here
            try:
                module = importlib.import_module(where)
            except ModuleNotFoundError as exc:
                if exc.name and where.startswith(exc.name):
                    raise InputError(f"model 'python:{spec}'", None,
                                     f"an importable module {where!r} (not found from {cwd} "
                                     "or the import path)") from None
                raise ModelError(f"model 'python:{spec}': importing {where!r} failed: {_first_line(exc)} "
                                 "(--debug for the traceback)") from exc
            except SyntaxError as exc:
                raise ModelError(f"model 'python:{spec}': {exc.filename}:{exc.lineno}: {exc.msg}") from exc
            module_label = where
        obj: Any = module
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            raise InputError(where, None, f"a callable named {attr!r}") from None
        model = cls(obj, name=f"python:{spec}", module=module)
        model.module_name = module_label
        return model

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = content_hash({
                "adapter": "python",
                "module": self.module_name,
                "qualname": self.qualname,
                "source": _source_hash(self.fn, self.module),
            })
        return self._fingerprint

    def predict(self, batch: list[Any]) -> Any:
        return self.fn(batch)


def load_python_model(spec: str) -> PythonCallableModel:
    """Registry factory for the ``python:`` scheme."""
    return PythonCallableModel.from_spec(spec)
