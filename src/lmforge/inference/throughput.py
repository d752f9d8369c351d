"""Texts per second through a prediction function: the one timing loop behind `lmforge compress`'s
measurements and `lmforge cost`'s benchmark.

    >>> rate, seconds = texts_per_second(predictor.logits, texts)              # every text once, one call
    >>> rate, seconds = texts_per_second(predictor.logits, texts, count=20_000, chunk=1024)   # cycling
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


def texts_per_second(run: Callable[[list[str]], object], texts: Sequence[str], count: int | None = None,
                     chunk: int | None = None, progress: Callable[[int], object] | None = None) -> tuple[float, float]:
    """(texts/s, seconds) of pushing ``count`` texts (default: each once) through ``run``, ``chunk`` at a time
    (default: all in one call), cycling through ``texts``. Warm up before calling: the first call pays for
    allocations and lazy initialisation."""
    texts = list(texts)
    count = count or len(texts)
    chunk = chunk or len(texts)
    done, start_time = 0, time.perf_counter()
    while done < count:
        start = done % len(texts)
        batch = (texts[start:] + texts[:start])[:min(chunk, count - done)]
        run(batch)
        done += len(batch)
        if progress is not None:
            progress(len(batch))
    elapsed = time.perf_counter() - start_time
    return done / elapsed, elapsed
