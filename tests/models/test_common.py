"""``hash_files``: the model fingerprint's digest, kept under the files' identity so weights are read once."""
from __future__ import annotations

import hashlib

from gapbench.models._common import hash_files


def _by_definition(paths, extra=None) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(paths):
        data = p.read_bytes()
        h.update(p.name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    if extra is not None:
        h.update(repr(extra).encode())
    return h.hexdigest()


def test_digest_is_kept_and_follows_any_change_of_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(tmp_path / "cache"))
    a, b = tmp_path / "w" / "a.bin", tmp_path / "w" / "b.json"
    a.parent.mkdir()
    a.write_bytes(bytes(range(256)) * 5000)
    b.write_text('{"x": 1}')
    first = hash_files([b, a], ("onnxruntime", "1.0"))
    assert first == _by_definition([a, b], ("onnxruntime", "1.0"))
    (kept,) = (tmp_path / "cache" / "file-digests").iterdir()
    kept.write_text("f" * 32)  # what is kept is what is returned: the files are not read again
    assert hash_files([a, b], ("onnxruntime", "1.0")) == "f" * 32
    assert hash_files([a, b], ("onnxruntime", "2.0")) == _by_definition([a, b], ("onnxruntime", "2.0"))
    a.write_bytes(bytes(reversed(range(256))) * 5000)  # same size, new content: a new identity
    assert hash_files([a, b], ("onnxruntime", "1.0")) == _by_definition([a, b], ("onnxruntime", "1.0")) != first


def test_an_unwritable_cache_only_costs_the_rehash(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(blocker))
    f = tmp_path / "m.onnx"
    f.write_bytes(b"weights")
    assert hash_files([f]) == hash_files([f]) == _by_definition([f])
