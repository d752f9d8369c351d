"""Metering, the bottom layer of cost accounting: the meter every stage runs inside, the machine it ran on,
prices and an energy estimate. Imports nothing of lmforge above :mod:`lmforge.errors` (an import-linter
contract keeps it so); the economics built on it (``lmforge cost``: throughput, ROI, usage, the report)
live in :mod:`lmforge.costs`.

    meter.py      Meter: wall time, CPU time, peak memory and what they cost
    hardware.py   the machine: CPU, cores, memory, GPU; measured fp32 GFLOP/s (cached)
    prices.py     the price table (prices.yaml): machines per hour, hosted LLM APIs per token
    energy.py     an energy estimate from Cloud Carbon Footprint coefficients
"""

from lmforge.metering.hardware import hardware_info
from lmforge.metering.meter import Meter

__all__ = ["Meter", "hardware_info"]
