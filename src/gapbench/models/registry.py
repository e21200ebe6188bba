"""Model URIs ``scheme:rest`` -> adapters. Each scheme is one lazy registry entry:

    SCHEMES.register("hf", "gapbench.models.hf:load_hf_model")   # a factory(rest: str) -> ModelAdapter

Nothing is imported until a model of that scheme is loaded.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gapbench.core.registry import Registry, UnknownNameError
from gapbench.models.base import ModelAdapter

SCHEMES: Registry[Callable[[str], ModelAdapter]] = Registry("model scheme")
SCHEMES.register("python", "gapbench.models.python_callable:load_python_model")
SCHEMES.register("builtin", "gapbench.models.builtin:load_builtin")
SCHEMES.register("baseline", "gapbench.spectro.baselines:load_baseline")

SCHEME_HELP: dict[str, str] = {
    "python": "python:package.module:function or python:path/to/file.py:function "
              "(fn(list of inputs) -> list of predictions)",
    "builtin": "embedded offline models, e.g. builtin:digits-logreg",
    "baseline": "spectro offline baselines: baseline:asr, baseline:blind, baseline:chance, baseline:image",
}


def load_model(model: str | ModelAdapter | Callable[[list[Any]], Any]) -> ModelAdapter:
    """A model adapter from a URI, an adapter (returned as is) or a plain batch callable."""
    if isinstance(model, ModelAdapter):
        return model
    if not isinstance(model, str):
        from gapbench.models.python_callable import PythonCallableModel

        return PythonCallableModel(model)
    scheme, sep, rest = model.partition(":")
    if not sep:  # a bare name: an embedded model (``pocketsphinx`` = ``builtin:pocketsphinx``)
        from gapbench.models.builtin import BUILTINS

        if model in BUILTINS:
            return SCHEMES.get("builtin")(model)
        hint = BUILTINS.suggest(model)
        msg = (f"unknown model {model!r}: expected an embedded model ({', '.join(BUILTINS.names())}) "
               f"or 'scheme:name' with scheme one of {', '.join(SCHEMES.names())}")
        raise UnknownNameError(msg + (f"; did you mean {hint[0]!r}?" if hint else ""))
    factory = SCHEMES.get(scheme)
    return factory(rest)


def describe_models() -> list[tuple[str, str]]:
    """(uri or pattern, description) rows for ``gapbench models``."""
    from gapbench.models.builtin import BUILTIN_DESCRIPTIONS, BUILTINS

    rows = [(f"{s}:", SCHEME_HELP.get(s, "")) for s in SCHEMES.names()]
    rows += [(f"builtin:{n}", BUILTIN_DESCRIPTIONS.get(n, "")) for n in BUILTINS.names()]
    return rows
