from __future__ import annotations

import sys

import pytest

from gapbench.core.registry import Registry, UnknownNameError, import_target


def test_lazy_target_is_imported_on_first_use() -> None:
    reg: Registry[object] = Registry("widget")
    reg.register("dumps", "json:dumps")
    reg.register("tarfile", "tarfile:open")
    sys.modules.pop("tarfile", None)
    assert "tarfile" not in sys.modules
    assert reg.get("tarfile").__name__ == "open"
    assert "tarfile" in sys.modules
    assert reg.get("dumps")({"a": 1}) == '{"a": 1}'


def test_unknown_name_suggests_close_matches() -> None:
    reg: Registry[object] = Registry("task")
    for name in ("digits", "coco-val", "librispeech-clean"):
        reg.register(name, "json:dumps")
    with pytest.raises(UnknownNameError) as exc:
        reg.get("digit")
    assert "did you mean 'digits'" in str(exc.value)
    with pytest.raises(UnknownNameError) as exc:
        reg.get("zzzz")
    assert "did you mean" not in str(exc.value) and "known: coco-val" in str(exc.value)


def test_duplicate_registration_is_refused() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("a", "json:dumps")
    with pytest.raises(ValueError):
        reg.register("a", "json:loads")
    reg.register("a", "json:loads", overwrite=True)
    assert reg.get("a").__name__ == "loads"


def test_import_target_nested_attribute_and_bad_form() -> None:
    assert import_target("os:path.join")("a", "b") == "a/b"
    with pytest.raises(ValueError):
        import_target("os.path.join")
