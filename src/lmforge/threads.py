"""How many CPU cores there are, and how many threads torch should use: one place for the rule.

One thread per *physical* core: hyper-threads share a core's vector units, so a second thread per core
only adds contention in the matrix multiplications that dominate an encoder.

    >>> configure_threads(None)        # torch.set_num_threads(physical cores); returns the number
    >>> usable_cores()                 # cores this process may run on (its CPU affinity)
"""

from __future__ import annotations

import os


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def usable_cores() -> int:
    """Logical cores this process may run on (a container or ``taskset`` may allow fewer than exist)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` (default: the physical cores); returns the number set."""
    import torch

    n = threads or physical_cores()
    torch.set_num_threads(n)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings; we tokenize up front
    return n


def limit_threads(threads: int | None) -> None:
    """Cap every thread pool (torch, NumPy's BLAS, ONNX Runtime) at ``threads`` without importing torch: the
    variables are read when a library starts; torch, when already imported, is told directly."""
    if threads is None:
        return
    if threads < 1:
        from lmforge.errors import ConfigError

        raise ConfigError(f"--threads must be at least 1, got {threads}")
    import sys

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
