"""Provenance: keys, config hash, git state, GPUs, speed, no heavy imports."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from gapbench.core import provenance as prov
from gapbench.core.provenance import collect_provenance, config_hash

KEYS = {
    "gapbench_version", "python_version", "python_implementation", "libraries", "git_hash", "git_dirty",
    "seed", "config_hash", "model_fingerprint", "hardware", "hostname", "timestamp",
}


@pytest.fixture
def fresh_caches():
    caches = (prov._git_state, prov._gpus, prov.library_versions, prov._static_hardware)
    for c in caches:
        c.cache_clear()
    yield
    for c in caches:
        c.cache_clear()


def test_keys_and_types():
    p = collect_provenance(seed=42, config={"task": "asr"}, model_fingerprint="sha256:feed")
    assert set(p) == KEYS
    assert p["seed"] == 42 and p["model_fingerprint"] == "sha256:feed"
    assert p["gapbench_version"] == __import__("gapbench").__version__
    assert p["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert datetime.fromisoformat(p["timestamp"]).utcoffset().total_seconds() == 0
    hw = p["hardware"]
    assert {"platform", "machine", "processor", "cpu_count", "memory_bytes", "gpus"} <= set(hw)
    assert hw["cpu_count"] >= 1 and hw["memory_bytes"] > 0
    assert isinstance(p["hostname"], str) and p["hostname"]
    assert json.loads(json.dumps(p)) == p  # JSON-able as is
    assert collect_provenance(seed=0, config={})["model_fingerprint"] is None


def test_library_versions_installed_only():
    from importlib import metadata

    libs = collect_provenance(seed=0, config={})["libraries"]
    assert libs["numpy"] == metadata.version("numpy")
    assert set(libs) <= set(prov.KEY_LIBRARIES)
    for name in prov.KEY_LIBRARIES:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            assert name not in libs


def test_config_hash_stable_and_order_independent():
    a = {"task": "asr", "shifts": {"noise": [10, 5, 0], "telephone": True}, "seed": 1, "name": "ünïcode"}
    b = {"name": "ünïcode", "seed": 1, "shifts": {"telephone": True, "noise": [10, 5, 0]}, "task": "asr"}
    assert config_hash(a) == config_hash(b)
    assert collect_provenance(seed=1, config=a)["config_hash"] == config_hash(b)
    # pinned: canonical JSON = sorted keys, no spaces, UTF-8
    canon = '{"name":"ünïcode","seed":1,"shifts":{"noise":[10,5,0],"telephone":true},"task":"asr"}'
    assert config_hash(a) == hashlib.sha256(canon.encode()).hexdigest()
    # list order matters, values matter
    assert config_hash({**a, "shifts": {"noise": [0, 5, 10], "telephone": True}}) != config_hash(a)
    assert config_hash({**a, "seed": 2}) != config_hash(a)
    assert len(config_hash({})) == 64


def test_config_hash_odd_values():
    assert config_hash({"x": (1, 2)}) == config_hash({"x": [1, 2]})
    assert config_hash({"p": Path("/a/b")}) == config_hash({"p": "/a/b"})
    assert config_hash({"x": float("nan")}) == config_hash({"x": float("nan")})
    assert config_hash({1: "a"}) == config_hash({"1": "a"})


def test_git_hash_of_checkout(fresh_caches):
    root = prov._source_root()
    p = collect_provenance(seed=0, config={})
    if root is None or shutil.which("git") is None:
        assert p["git_hash"] is None and p["git_dirty"] is None
        return
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.returncode != 0:  # a repository without commits
        assert p["git_hash"] is None
        return
    assert p["git_hash"] == head.stdout.strip()
    assert isinstance(p["git_dirty"], bool)


def test_no_git_checkout(monkeypatch, fresh_caches):
    monkeypatch.setattr(prov, "_source_root", lambda: None)
    p = collect_provenance(seed=0, config={})
    assert p["git_hash"] is None and p["git_dirty"] is None


def test_gpus_from_nvidia_smi(monkeypatch, tmp_path, fresh_caches):
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\n[ \"$1\" = -L ] || exit 2\n"
        "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)'\n"
        "echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-5678)'\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    gpus = collect_provenance(seed=0, config={})["hardware"]["gpus"]
    assert gpus == ["GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)", "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-5678)"]


def test_no_nvidia_smi_or_failing(monkeypatch, tmp_path, fresh_caches):
    monkeypatch.setenv("PATH", str(tmp_path))  # empty dir: no nvidia-smi
    assert collect_provenance(seed=0, config={})["hardware"]["gpus"] is None
    prov._gpus.cache_clear()
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    assert collect_provenance(seed=0, config={})["hardware"]["gpus"] is None


def test_fast():
    collect_provenance(seed=0, config={"a": 1})  # warm the per-process caches
    t = time.perf_counter()
    for _ in range(10):
        collect_provenance(seed=0, config={"a": list(range(100))})
    assert (time.perf_counter() - t) / 10 < 0.05


def test_cold_call_imports_nothing_heavy():
    code = (
        "import sys, time; import gapbench.core; before = set(sys.modules); t = time.perf_counter()\n"
        "from gapbench.core.provenance import collect_provenance\n"
        "collect_provenance(seed=1, config={'a': 1})\n"
        "dt = time.perf_counter() - t\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "heavy = sorted(new & {'numpy', 'scipy', 'torch', 'sklearn', 'sqlalchemy', 'jiwer', 'transformers',"
        " 'onnxruntime', 'pycocotools', 'faster_coco_eval', 'pyannote'})\n"
        "assert not heavy, heavy\n"
        "print(dt)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 2.0  # generous: cold imports on a loaded CI box
