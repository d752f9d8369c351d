"""An energy estimate for a piece of work: an *estimate*, from coefficients, not a measurement.

Following the Cloud Carbon Footprint method: each vCPU draws between an idle and a full-load wattage,
interpolated by how busy the process kept the CPUs (CPU-seconds / (wall seconds x vCPUs)); memory draws a
fixed wattage per GB; a GPU is taken at its board power (an upper bound); the total is scaled by the
data centre's PUE. The coefficients and their source sit in ``prices.yaml`` under ``energy``.

    >>> estimate_energy(wall_s=3600, cpu_s=7200, hardware={"logical_cores": 2, "memory_gb": 4})["kwh"]
    0.0097...
"""

from __future__ import annotations

from lmforge.metering.prices import price_table

# Board power of common GPUs (vendor data sheets), for a machine not named in the price table.
GPU_WATTS = {"H100": 700, "H200": 700, "A100": 400, "L40": 300, "A10": 150, "L4": 72, "T4": 70}
UNKNOWN_GPU_WATTS = 300


def gpu_watts(name: str) -> float:
    for key, watts in GPU_WATTS.items():
        if key.lower() in name.lower():
            return watts
    return UNKNOWN_GPU_WATTS


def estimate_energy(wall_s: float, cpu_s: float, hardware: dict) -> dict:
    """Estimated kWh (and mean watts) of work that took ``wall_s`` seconds and ``cpu_s`` CPU-seconds."""
    k = price_table()["energy"]
    vcpus = hardware.get("logical_cores") or 1
    utilization = min(1.0, max(0.0, cpu_s / max(wall_s * vcpus, 1e-9)))
    cpu_watts = vcpus * (k["vcpu_watts_idle"] + utilization * (k["vcpu_watts_full"] - k["vcpu_watts_idle"]))
    memory_watts = (hardware.get("memory_gb") or 0) * k["memory_watts_per_gb"]
    gpu = hardware.get("gpu") or None
    accel_watts = gpu["count"] * gpu_watts(gpu["name"]) if gpu else 0.0
    watts = (cpu_watts + memory_watts + accel_watts) * k["pue"]
    return {"kwh": watts * wall_s / 3600 / 1000, "mean_watts": round(watts, 2), "cpu_utilization": round(utilization, 3),
            "label": "estimate", "method": "Cloud Carbon Footprint coefficients: vCPU watts by utilization + "
            "memory watts + GPU board power, times PUE", "source": k.get("source")}
