"""One probe for energy and GPU memory over a scenario run (MLPerf Power's question: joules per query).

Sources, in the order tried:

* CPU energy: Intel RAPL through the Linux powercap interface. Each package domain
  ``<root>/intel-rapl:N/energy_uj`` is a monotonically increasing counter in microjoules that wraps to
  0 after ``max_energy_range_uj`` (kernel Documentation/power/powercap/powercap.rst). Only the
  top-level package domains (``intel-rapl:N``, one colon) are summed: their sub-domains
  (``intel-rapl:N:M``, core/uncore/dram) are parts of the package figure and would count twice.
  ``root`` is ``/sys/class/powercap`` unless a caller (a test) points it at a directory it built.
* GPU energy and memory: NVML (``pynvml``, from the nvidia-ml-py package) when importable and a GPU
  answers: ``nvmlDeviceGetTotalEnergyConsumption`` (millijoules since the driver loaded, Volta and
  later) and ``nvmlDeviceGetMemoryInfo().used`` at the end of the run (NVML has no peak counter).
* Otherwise GPU memory from ``torch.cuda.max_memory_allocated`` (the true peak of torch's caching
  allocator since the probe reset it), after ``torch.cuda.synchronize()`` so pending kernels count,
  when torch is already imported and runs on CUDA.

Whatever is missing is reported as ``None`` with a plain reason ("not available here: ..."), never as
0. The energy is that of the whole package/device over the measured window, idle time and other
processes included: per query = window energy / queries served in the window.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POWERCAP_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class RaplDomain:
    """One RAPL package counter: its directory, name and wrap-around range (microjoules)."""

    path: Path
    name: str
    max_range_uj: int

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


def rapl_domains(root: Path | str = POWERCAP_ROOT) -> tuple[list[RaplDomain], str | None]:
    """The package-level RAPL domains under ``root``, or ``([], why not)``."""
    root = Path(root)
    if not root.is_dir():
        return [], f"no powercap interface ({root} does not exist)"
    out: list[RaplDomain] = []
    for d in sorted(root.glob("intel-rapl:*")):
        if d.name.count(":") != 1 or not (d / "energy_uj").exists():
            continue
        try:
            name = (d / "name").read_text().strip() if (d / "name").exists() else d.name
            max_range = int((d / "max_energy_range_uj").read_text().strip())
            d_ = RaplDomain(d, name, max_range)
            d_.read_uj()
        except PermissionError:
            return [], f"{d / 'energy_uj'} is not readable by this user (root only since Linux 5.10)"
        except (OSError, ValueError) as exc:
            return [], f"{d}: unreadable RAPL counter ({exc})"
        out.append(d_)
    if not out:
        return [], f"no Intel RAPL package domain under {root}"
    return out, None


def counter_delta(start: int, end: int, max_range: int) -> int:
    """Counter increase from ``start`` to ``end``, allowing one wrap-around at ``max_range``.

    More than one wrap in a window cannot be seen (RAPL package counters wrap after ~60 s at 1 kW
    with a 2^32 uJ range on older parts; typical ranges are ~2^38 uJ, hours at server power).
    """
    return end - start if end >= start else end + max_range - start


@dataclass
class HardwareReading:
    """What the probe measured over one window; ``None`` figures come with ``reasons``."""

    cpu_energy_j: float | None = None
    gpu_energy_j: float | None = None
    gpu_memory_peak_mb: float | None = None
    gpu_memory_source: str | None = None
    sources: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def energy_j(self) -> float | None:
        parts = [e for e in (self.cpu_energy_j, self.gpu_energy_j) if e is not None]
        return sum(parts) if parts else None

    def block(self, queries: int, samples: int) -> dict[str, Any]:
        """The report's ``hardware`` block: joules per query/sample or None with the reason."""
        e = self.energy_j
        return {
            "energy_j": e, "cpu_energy_j": self.cpu_energy_j, "gpu_energy_j": self.gpu_energy_j,
            "energy_j_per_query": e / queries if e is not None and queries else None,
            "energy_j_per_sample": e / samples if e is not None and samples else None,
            "energy_sources": list(self.sources),
            "gpu_memory_peak_mb": self.gpu_memory_peak_mb, "gpu_memory_source": self.gpu_memory_source,
            "not_available": dict(self.reasons),
        }


def _nvml() -> tuple[Any, list[Any]] | str:
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return "not available here: pynvml (nvidia-ml-py) is not installed"
    try:
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception as exc:  # noqa: BLE001 - pynvml raises NVMLError subclasses per cause
        return f"not available here: NVML did not start ({exc})"
    if not handles:
        return "not available here: NVML sees no GPU"
    return pynvml, handles


def _torch_cuda() -> Any | None:
    torch = sys.modules.get("torch")  # only a model that already uses torch makes this relevant
    try:
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            return torch
    except Exception:  # noqa: BLE001 - a broken CUDA install is "not available"
        return None
    return None


class HardwareProbe:
    """``start()`` before the measured window, ``stop()`` after it -> :class:`HardwareReading`.

    Reads happen only at the two ends, never inside a query's timed region.
    """

    def __init__(self, powercap_root: Path | str = POWERCAP_ROOT, *, use_nvml: bool = True) -> None:
        self.root = Path(powercap_root)
        self.use_nvml = use_nvml
        self._rapl: list[RaplDomain] = []
        self._rapl_start: list[int] = []
        self._nvml: tuple[Any, list[Any]] | None = None
        self._nvml_start: list[int] = []
        self._torch: Any = None
        self.reading = HardwareReading()

    def start(self) -> HardwareProbe:
        r = self.reading = HardwareReading()
        self._rapl, why = rapl_domains(self.root)
        if why:
            r.reasons["cpu_energy"] = f"not available here: {why}"
        self._rapl_start = [d.read_uj() for d in self._rapl]
        nv = _nvml() if self.use_nvml else "not available here: NVML not used"
        if isinstance(nv, str):
            r.reasons["gpu_energy"] = nv
            self._nvml = None
        else:
            self._nvml = nv
            try:
                self._nvml_start = [nv[0].nvmlDeviceGetTotalEnergyConsumption(h) for h in nv[1]]
            except Exception as exc:  # noqa: BLE001 - pre-Volta GPUs have no energy counter
                r.reasons["gpu_energy"] = f"not available here: NVML energy counter ({exc})"
                self._nvml_start = []
        self._torch = _torch_cuda() if self._nvml is None else None
        if self._torch is not None:
            self._torch.cuda.synchronize()
            self._torch.cuda.reset_peak_memory_stats()
        return self

    def stop(self) -> HardwareReading:
        r = self.reading
        if self._rapl:
            ends = [d.read_uj() for d in self._rapl]
            uj = sum(counter_delta(s, e, d.max_range_uj) for s, e, d in zip(self._rapl_start, ends, self._rapl))
            r.cpu_energy_j = uj / 1e6
            r.sources.append("rapl:" + ",".join(d.name for d in self._rapl))
        if self._nvml is not None:
            nvml, handles = self._nvml
            if self._nvml_start:
                mj = [nvml.nvmlDeviceGetTotalEnergyConsumption(h) - s for h, s in zip(handles, self._nvml_start)]
                r.gpu_energy_j = sum(mj) / 1e3
                r.sources.append(f"nvml:{len(handles)} GPU(s)")
            r.gpu_memory_peak_mb = sum(nvml.nvmlDeviceGetMemoryInfo(h).used for h in handles) / 2**20
            r.gpu_memory_source = "nvml used memory at the end of the run (NVML has no peak counter)"
        elif self._torch is not None:
            self._torch.cuda.synchronize()
            r.gpu_memory_peak_mb = self._torch.cuda.max_memory_allocated() / 2**20
            r.gpu_memory_source = "torch.cuda.max_memory_allocated (after synchronize)"
        else:
            r.reasons["gpu_memory"] = "not available here: no NVML and torch does not run on CUDA"
        return r


__all__ = ["POWERCAP_ROOT", "HardwareProbe", "HardwareReading", "RaplDomain", "counter_delta", "rapl_domains"]
