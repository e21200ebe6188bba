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
SCHEMES.register("hf", "gapbench.models.hf:load_hf_model")
SCHEMES.register("onnx", "gapbench.models.onnx:load_onnx_model")
SCHEMES.register("torchvision", "gapbench.models.torchvision_model:load_torchvision_model")
SCHEMES.register("openai", "gapbench.models.openai_http:load_openai_model")
SCHEMES.register("baseline", "gapbench.spectro.baselines:load_baseline")
SCHEMES.register("pyannote", "gapbench.models.pyannote_audio:load_pyannote_model")

SCHEME_HELP: dict[str, str] = {
    "python": "python:package.module:function or python:path/to/file.py:function "
              "(fn(list of inputs) -> list of predictions)",
    "builtin": "embedded offline models, e.g. builtin:digits-logreg",
    "hf": "hf:path/to/model or hf:org/name from the local cache (transformers; never downloads)",
    "onnx": "onnx:model.onnx (ONNX Runtime; pre/post-processing from model.yaml beside it or options)",
    "torchvision": "torchvision:ARCH with weights=PATH.pth (a torchvision.models architecture, your state_dict; "
                   "optional extra [torchvision])",
    "openai": "openai:MODEL on an OpenAI-compatible server (base_url option, key from OPENAI_API_KEY)",
    "baseline": "spectro offline baselines: baseline:asr, baseline:blind, baseline:chance, baseline:image",
    "pyannote": "pyannote:path/to/pipeline (a local pyannote.audio diarization pipeline; the optional pyannote extra)",
}


def load_model(model: str | ModelAdapter | Callable[[list[Any]], Any], **options: Any) -> ModelAdapter:
    """A model adapter from a URI, an adapter (returned as is) or a plain batch callable.

    ``options`` (e.g. ``base_url=...``, ``threshold=0.3``) go to the scheme's factory as keywords;
    they are for URIs only (an adapter or callable is already built).
    """
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
    if options:
        import inspect

        params = inspect.signature(factory).parameters.values()
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            from gapbench.errors import InputError

            raise InputError(None, f"model {model}", f"no options ({scheme}: models take none)",
                             ", ".join(sorted(options)))
        return factory(rest, **options)  # type: ignore[call-arg]
    return factory(rest)


def parse_model_options(items: list[str] | None, base_url: str | None = None) -> dict[str, str]:
    """``--model-option KEY=VALUE`` (repeatable) and ``--base-url URL`` -> keyword options for
    :func:`load_model`. Values stay strings; each adapter parses its own (one line when it cannot).
    Secrets never go here: adapters read keys from the environment (``api_key_env`` names the variable).
    """
    from gapbench.errors import InputError

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InputError(None, "--model-option", "KEY=VALUE", item)
        if key in out:
            raise InputError(None, "--model-option", f"{key} given once", item)
        out[key] = value.strip()
    if base_url is not None:
        if "base_url" in out:
            raise InputError(None, "--base-url", "either --base-url or --model-option base_url=", base_url)
        out["base_url"] = base_url
    return out


def describe_models() -> list[tuple[str, str]]:
    """(uri or pattern, description) rows for ``gapbench models``."""
    from gapbench.models.builtin import BUILTIN_DESCRIPTIONS, BUILTINS

    rows = [(f"{s}:", SCHEME_HELP.get(s, "")) for s in SCHEMES.names()]
    rows += [(f"builtin:{n}", BUILTIN_DESCRIPTIONS.get(n, "")) for n in BUILTINS.names()]
    return rows
