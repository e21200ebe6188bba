"""The energy / GPU-memory probe against a powercap tree built here (fake RAPL counters)."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from gapbench.latency.hardware import HardwareProbe, counter_delta, rapl_domains


def _domain(root, name, energy, max_range, label="package-0"):
    d = root / name
    d.mkdir(parents=True)
    (d / "energy_uj").write_text(f"{energy}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    (d / "name").write_text(label + "\n")
    return d


def _set(d, energy):
    (d / "energy_uj").write_text(f"{energy}\n")


def test_counter_delta_handles_one_wrap():
    assert counter_delta(100, 350, 1000) == 250
    assert counter_delta(900, 50, 1000) == 150  # wrapped: 100 to the top, 50 after 0


def test_probe_sums_packages_skips_subdomains_and_handles_wrap(tmp_path):
    p0 = _domain(tmp_path, "intel-rapl:0", 5_000_000, 10_000_000)
    p1 = _domain(tmp_path, "intel-rapl:1", 9_000_000, 10_000_000, "package-1")
    sub = _domain(tmp_path, "intel-rapl:0:0", 1_000, 10_000_000, "core")
    probe = HardwareProbe(tmp_path, use_nvml=False).start()
    _set(p0, 7_500_000)  # +2.5 J
    _set(p1, 1_000_000)  # wrapped: +1 J to the top, +1 J after 0
    _set(sub, 9_000_000)  # a part of package 0: must not be counted again
    r = probe.stop()
    assert r.cpu_energy_j == pytest.approx(4.5)
    assert r.gpu_energy_j is None and "gpu_energy" in r.reasons
    b = r.block(queries=9, samples=18)
    assert b["energy_j_per_query"] == pytest.approx(0.5) and b["energy_j_per_sample"] == pytest.approx(0.25)
    assert b["energy_sources"] == ["rapl:package-0,package-1"]


def test_no_powercap_says_not_available(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # no GPU either, even where torch already runs on CUDA
    r = HardwareProbe(tmp_path / "absent", use_nvml=False).start().stop()
    b = r.block(10, 10)
    assert b["energy_j"] is None and b["energy_j_per_query"] is None
    assert b["not_available"]["cpu_energy"].startswith("not available here")
    assert b["gpu_memory_peak_mb"] is None and "gpu_memory" in b["not_available"]
    assert rapl_domains(tmp_path)[0] == [] and "no Intel RAPL" in rapl_domains(tmp_path)[1]


def test_scenario_report_carries_energy_per_query_from_the_counters(tmp_path):
    from gapbench.core.sample import Sample
    from gapbench.latency.scenarios import ScenarioSettings, SystemUnderTest, run_scenario
    from gapbench.models.python_callable import PythonCallableModel

    d = _domain(tmp_path, "intel-rapl:0", 0, 2**32)
    lock = threading.Lock()
    state = {"uj": 0}

    def model(batch):  # every query "costs" 1000 uJ on the fake counter
        with lock:
            state["uj"] += 1000
            _set(d, state["uj"])
        return [[1.0, 0.0] for _ in batch]

    pool = [Sample(f"s{i}", np.zeros((2, 2), np.uint8), 0) for i in range(4)]
    sut = SystemUnderTest(PythonCallableModel(model, name="python:e"), "image-classification", num_classes=2)
    s = ScenarioSettings("single-stream", min_queries=25, min_duration_s=0, warmup_queries=5)
    run = run_scenario(sut, pool, s, probe=HardwareProbe(tmp_path, use_nvml=False))
    hw = run.block["hardware"]
    assert run.block["queries"] == 25  # warm-up excluded from the window and from the count
    assert hw["energy_j_per_query"] == pytest.approx(1e-3) and hw["cpu_energy_j"] == pytest.approx(25e-3)


def test_torch_cuda_peak_is_read_after_synchronize(monkeypatch, tmp_path):
    """A stand-in torch module (no CUDA here): the peak is read only after a synchronize."""
    import sys
    import types

    calls = []
    cuda = types.SimpleNamespace(
        is_available=lambda: True, is_initialized=lambda: True,
        synchronize=lambda: calls.append("sync"), reset_peak_memory_stats=lambda: calls.append("reset"),
        max_memory_allocated=lambda: calls.append("peak") or 3 * 2**20)
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    r = HardwareProbe(tmp_path, use_nvml=False).start().stop()
    assert r.gpu_memory_peak_mb == 3.0 and "torch.cuda" in r.gpu_memory_source
    assert calls == ["sync", "reset", "sync", "peak"]


def test_nvml_path_with_a_stand_in_module(monkeypatch, tmp_path):
    """The NVML calls as pynvml names them, on a stand-in (no NVIDIA GPU here: the real path is not run)."""
    import sys
    import types

    energy = {"mj": 10_000}
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 1, nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetTotalEnergyConsumption=lambda h: energy["mj"],
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=512 * 2**20))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    probe = HardwareProbe(tmp_path).start()
    energy["mj"] += 2_500
    r = probe.stop()
    assert r.gpu_energy_j == pytest.approx(2.5) and r.gpu_memory_peak_mb == 512.0
    assert r.block(5, 5)["energy_j_per_query"] == pytest.approx(0.5)


def test_real_nvml_and_torch_cuda_on_a_gpu(tmp_path):
    """Where an NVIDIA GPU answers (skipped elsewhere): a real matrix-product load gives a positive
    energy from NVML's counter and memory in use at least what torch holds; and torch's own peak
    when NVML is not used."""
    pynvml = pytest.importorskip("pynvml", reason="pynvml (nvidia-ml-py) is not installed")
    torch = pytest.importorskip("torch", reason="torch is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        pytest.skip(f"no NVIDIA GPU answers NVML here: {exc}")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    a = torch.randn(4096, 4096, device="cuda")
    probe = HardwareProbe(tmp_path).start()
    for _ in range(200):  # ~0.5 s of work: the energy counter moves by whole millijoules
        a = (a @ a).clamp_(-1, 1)
    torch.cuda.synchronize()
    r = probe.stop()
    assert r.gpu_energy_j is not None and r.gpu_energy_j > 0, r.reasons
    assert any(s.startswith("nvml:") for s in r.sources)
    assert r.gpu_memory_peak_mb >= torch.cuda.memory_allocated() / 2**20
    probe = HardwareProbe(tmp_path, use_nvml=False).start()
    b = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")  # 256 MiB more at the peak
    del b
    r = probe.stop()
    assert "torch.cuda" in r.gpu_memory_source and r.gpu_memory_peak_mb >= 256
