"""Adapter options from the command line reach the scheme factories as keywords."""
from __future__ import annotations

import pytest

from gapbench.errors import InputError
from gapbench.models.registry import SCHEME_HELP, SCHEMES, load_model, parse_model_options


def test_parse_model_options_and_base_url():
    assert parse_model_options(["threshold=0.3", "prompt-template=Q: {text}=?"], "http://h/v1") == {
        "threshold": "0.3", "prompt_template": "Q: {text}=?", "base_url": "http://h/v1"}
    assert parse_model_options(None) == {}
    for bad in (["threshold"], ["=3"], ["a=1", "a=2"]):
        with pytest.raises(InputError):
            parse_model_options(bad)
    with pytest.raises(InputError, match="either --base-url"):
        parse_model_options(["base_url=http://a"], "http://b")


def test_options_reach_the_factory_and_schemes_without_options_say_so():
    m = load_model("openai:m", **parse_model_options(["temperature=0.5"], "http://127.0.0.1:9/v1"))
    assert m.base_url == "http://127.0.0.1:9/v1" and not m.deterministic
    with pytest.raises(InputError, match="builtin: models take none"):
        load_model("builtin:digits-logreg", threshold="0.3")


def test_every_scheme_has_help():
    assert {"hf", "onnx", "openai"} <= set(SCHEMES.names()) <= set(SCHEME_HELP)
