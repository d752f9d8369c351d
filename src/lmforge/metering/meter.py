"""A meter around a piece of work: wall time, CPU time, peak memory, and what it cost.

    >>> with Meter() as meter:
    ...     work()
    >>> meter.report(price_per_hour=0.09)      # or instance="aws/c7i.large", or neither: this machine's class

A command-line run pays for the machine from the moment its process starts, not from when the stage's
code begins: :func:`count_process_startup` (called by ``lmforge``'s ``main``) makes the first meter of the
process carry the start-up time (interpreter, imports) too, so the recorded cost matches a stopwatch.
"""

from __future__ import annotations

import resource
import time

from lmforge.metering.energy import estimate_energy
from lmforge.metering.hardware import hardware_info
from lmforge.metering.prices import resolve_price

_startup: dict | None = None  # set by count_process_startup, consumed by the first Meter entered


def count_process_startup() -> None:
    """Charge the time since this process started to the first :class:`Meter` entered from now on."""
    global _startup
    import psutil

    _startup = {"wall_s": max(0.0, time.time() - psutil.Process().create_time()), "cpu_s": time.process_time(),
                "perf": time.perf_counter()}


class Meter:
    def __init__(self, carried_wall_s: float = 0.0, carried_cpu_s: float = 0.0):
        # carried_*: time already spent by an earlier, interrupted attempt of the same run (resume)
        self.carried_wall_s, self.carried_cpu_s = carried_wall_s, carried_cpu_s
        self.startup_s = 0.0
        self._wall0 = self._cpu0 = 0.0

    def __enter__(self) -> Meter:
        global _startup
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        if _startup is not None:
            # seconds from process creation to now: what the machine was paid for before this stage began
            self.startup_s = _startup["wall_s"] + (self._wall0 - _startup["perf"])
            self.carried_wall_s += self.startup_s
            self.carried_cpu_s += self._cpu0  # process_time counts from process start
            _startup = None
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

    def report(self, price_per_hour: float | None = None, instance: str | None = None) -> dict:
        hardware = hardware_info()
        quote = resolve_price(price_per_hour, instance, hardware)
        wall, cpu = round(self.wall_s, 2), round(self.cpu_s, 2)
        return {
            "wall_s": wall, "cpu_s": cpu, "startup_s": round(self.startup_s, 2),
            "peak_memory_mb": round(self.peak_memory_mb(), 1), "hardware": hardware,
            "cost": {"usd": wall / 3600 * quote.usd_per_hour, "price_per_hour": quote.usd_per_hour,
                     "price_basis": quote.basis, "instance": quote.instance, "price_source": quote.source,
                     "price_as_of": quote.as_of, "cpu_s": cpu, "formula": "wall_s / 3600 * price_per_hour"},
            "energy": estimate_energy(wall, cpu, hardware),
        }
