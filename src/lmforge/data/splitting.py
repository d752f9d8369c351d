"""Seeded, stratified hold-out splits: one way to shuffle each class, used by fine-tuning's dev split and by
`lmforge data prepare`'s train/dev/test split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shuffled_by_class(labels: Sequence | np.ndarray, rng: np.random.Generator,
                      among: np.ndarray | None = None) -> list[np.ndarray]:
    """For each class in sorted order, the indices of its rows (only rows where ``among`` is true), shuffled
    with ``rng``. The result depends only on the labels, ``among`` and the generator's state."""
    labels = np.asarray(labels)
    rows = np.ones(len(labels), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    return [rng.permutation(np.flatnonzero(rows & (labels == c))) for c in np.unique(labels[rows])]


def stratified_split(labels: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Split indices into (kept, held_out) with ``fraction`` of each class held out.

    Every class keeps at least one example in ``kept``; a class with a single example is never held out.
    The result depends only on ``labels``, ``fraction`` and ``seed``.
    """
    kept, held = [], []
    for idx in shuffled_by_class(labels, np.random.default_rng(seed)):
        n_held = min(int(round(len(idx) * fraction)), len(idx) - 1)
        held.extend(idx[:n_held].tolist())
        kept.extend(idx[n_held:].tolist())
    return sorted(kept), sorted(held)
