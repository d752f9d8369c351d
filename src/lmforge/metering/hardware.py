"""The machine a run happened on: recorded in every manifest, measured once by ``lmforge hardware``.

    >>> hardware_info()["cpu_model"]            # cheap: model, cores, memory, GPU
    'AMD EPYC 7B13'
    >>> machine_profile()["fp32_gflops"]        # measured once (a matmul benchmark), then read from the cache
    61.4
"""

from __future__ import annotations

import functools
import json
import os
import platform
import time
from pathlib import Path

import psutil

from lmforge.files import write_json_atomic
from lmforge.threads import physical_cores

PROFILE_VERSION = 1


@functools.lru_cache(maxsize=1)
def hardware_info() -> dict:
    """CPU model, cores, memory and GPU of this machine."""
    info = {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": physical_cores(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "gpu": None,
    }
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = {"name": props.name, "count": torch.cuda.device_count(),
                       "memory_gb": round(props.total_memory / 2**30, 1)}
    return info


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` of /proc/cpuinfo (None where there is none: not Linux, or no such field)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bf16 natively (AVX512-BF16 or AMX): there, bf16 autocast roughly halves a
    training step (MiniLM: 0.71 s vs 1.55 s at batch 32 × 64, one thread; bench/RESULTS.md). Elsewhere
    oneDNN emulates bf16 and it is slower than fp32."""
    return bool(set((_cpuinfo("flags") or "").split()) & {"avx512_bf16", "amx_bf16"})


def measure_fp32_gflops(seconds: float = 1.0, size: int = 1024, device: str = "cpu") -> float:
    """Sustained fp32 matrix-multiply GFLOP/s with torch's current thread count (best of timed rounds).

    A (size x size) @ (size x size) product is 2 * size**3 floating-point operations. The best round is
    kept because a shared machine only ever slows a round down.
    """
    import torch

    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)  # warm-up: allocations, kernel selection
    flops = 2 * size**3
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = max(best, 4 * flops / (time.perf_counter() - t0) / 1e9)
    return round(best, 2)


def cache_dir() -> Path:
    return Path(os.environ.get("LMFORGE_CACHE_DIR") or Path("~/.cache/lmforge").expanduser())


def machine_profile(refresh: bool = False, seconds: float = 1.0) -> dict:
    """The hardware plus measured fp32 GFLOP/s, cached in ``~/.cache/lmforge/hardware.json``.

    The cache is used while the machine looks the same (CPU model, cores, memory, GPU, torch threads);
    ``refresh=True`` measures again.
    """
    import torch

    info = hardware_info()
    key = {k: info[k] for k in ("cpu_model", "logical_cores", "memory_gb", "gpu")}
    key["torch_threads"] = torch.get_num_threads()
    path = cache_dir() / "hardware.json"
    if not refresh and path.exists():
        try:
            cached = json.loads(path.read_text())
            if cached.get("version") == PROFILE_VERSION and cached.get("key") == key:
                return {**cached["profile"], "cached": True, "cache_path": str(path)}
        except (json.JSONDecodeError, KeyError):
            pass  # a damaged cache is measured again
    profile = {**info, "torch_threads": key["torch_threads"], "fp32_gflops": measure_fp32_gflops(seconds),
               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if info["gpu"]:
        profile["gpu_fp32_gflops"] = measure_fp32_gflops(seconds, size=4096, device="cuda")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"version": PROFILE_VERSION, "key": key, "profile": profile})
    return {**profile, "cached": False, "cache_path": str(path)}
