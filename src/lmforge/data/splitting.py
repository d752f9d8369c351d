"""Seeded, stratified hold-out splits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def stratified_split(labels: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Split indices into (kept, held_out) with ``fraction`` of each class held out.

    Every class keeps at least one example in ``kept``; a class with a single example is never held out.
    The result depends only on ``labels``, ``fraction`` and ``seed``.
    """
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    kept, held = [], []
    for label in sorted(by_class):
        idx = np.array(by_class[label])
        rng.shuffle(idx)
        n_held = min(int(round(len(idx) * fraction)), len(idx) - 1)
        held.extend(idx[:n_held].tolist())
        kept.extend(idx[n_held:].tolist())
    return sorted(kept), sorted(held)
