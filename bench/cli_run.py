"""Run one `lmforge` command as its own process, the way a user does, and time it (shared by the benches).

    >>> seconds = lmforge("finetune", "train.csv", "--output", "runs/x", threads=1)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def lmforge(*args: str, threads: int | None = None, echo: bool = False, quiet: bool = False) -> float:
    """Wall seconds of ``python -m lmforge ARGS`` on this checkout's sources; raises if it fails.

    ``threads`` sets OMP_NUM_THREADS for the child; ``echo`` prints the command first; ``quiet`` drops its
    stdout (progress bars go to stderr and stay)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    if echo:
        print("$ lmforge " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lmforge", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL if quiet else None)
    return time.perf_counter() - start
