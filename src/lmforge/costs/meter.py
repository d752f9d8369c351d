"""A meter around a piece of work: wall time, CPU time, peak memory, and what it cost.

    >>> with Meter() as meter:
    ...     work()
    >>> meter.report(price_per_hour=0.09)
"""

from __future__ import annotations

import resource
import time

from lmforge.costs.hardware import default_price_per_hour, hardware_info


class Meter:
    def __init__(self, carried_wall_s: float = 0.0, carried_cpu_s: float = 0.0):
        # carried_*: time already spent by an earlier, interrupted attempt of the same run (resume)
        self.carried_wall_s, self.carried_cpu_s = carried_wall_s, carried_cpu_s
        self._wall0 = self._cpu0 = 0.0

    def __enter__(self) -> Meter:
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        pass

    @property
    def wall_s(self) -> float:
        return self.carried_wall_s + time.perf_counter() - self._wall0

    @property
    def cpu_s(self) -> float:
        return self.carried_cpu_s + time.process_time() - self._cpu0

    @staticmethod
    def peak_memory_mb() -> float:
        """Peak resident memory of this process (ru_maxrss is KiB on Linux)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def report(self, price_per_hour: float | None = None) -> dict:
        basis = "given by the user"
        if price_per_hour is None:
            price_per_hour, basis = default_price_per_hour()
        wall = round(self.wall_s, 2)
        return {
            "wall_s": wall, "cpu_s": round(self.cpu_s, 2),
            "peak_memory_mb": round(self.peak_memory_mb(), 1), "hardware": hardware_info(),
            "cost": {"usd": wall / 3600 * price_per_hour, "price_per_hour": price_per_hour,
                     "price_basis": basis, "formula": "wall_s / 3600 * price_per_hour"},
        }
