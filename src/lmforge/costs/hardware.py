"""The machine a run happened on, as recorded in every manifest."""

from __future__ import annotations

import functools
import os
import platform

import psutil

# $/hour used for cost estimates when the user gives none, by hardware class. On-demand Linux prices in
# AWS us-east-1 (aws.amazon.com/ec2/pricing/on-demand, read 2026-11): a 2-vCPU c7i.large for CPU machines,
# priced per 2 vCPUs; a p5 H100 share (p5.48xlarge / 8) for a GPU.
DEFAULT_PRICE_PER_HOUR = {"cpu_per_2_vcpu": 0.0893, "gpu": 12.29}


@functools.lru_cache(maxsize=1)
def hardware_info() -> dict:
    """CPU model, cores, memory and GPU of this machine."""
    info = {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False) or os.cpu_count(),
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


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def default_price_per_hour(info: dict | None = None) -> tuple[float, str]:
    """(price, what it is based on) for this hardware class."""
    info = info or hardware_info()
    if info.get("gpu"):
        n = info["gpu"]["count"]
        return DEFAULT_PRICE_PER_HOUR["gpu"] * n, f"{n} x H100 share of an AWS p5.48xlarge, on demand"
    vcpus = info["logical_cores"] or 2
    price = DEFAULT_PRICE_PER_HOUR["cpu_per_2_vcpu"] * vcpus / 2
    return round(price, 4), f"{vcpus} vCPU at AWS c7i.large on-demand rate ($0.0893 per 2 vCPU-hours)"
