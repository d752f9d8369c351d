"""Which rows `lmforge data prepare` keeps, and why the others go: pure functions over per-row arrays.

Rows are numbered 0..N-1 in input order. Each function reads the arrays it needs and marks rows in
``reason`` (0 = kept, else a code of ``REASONS``) with the row each removed row duplicates in ``duplicate_of``.
A row already removed is never marked again, so every removed row has exactly one reason.

    >>> state = RowState(groups=np.array([0, 0, 1]), labels=np.array([0, 0, 1]), scopes=np.zeros(3, int))
    >>> mark_duplicates(state, state.groups, EXACT_DUPLICATE)
    >>> state.reason                              # the second row repeats the first
    array([0, 1, 0], dtype=int8)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lmforge.data.splitting import shuffled_by_class

REASONS = {1: "exact_duplicate", 2: "near_duplicate", 3: "conflicting_label_minority", 4: "conflicting_label",
           5: "leaked_exact", 6: "leaked_near"}
EXACT_DUPLICATE, NEAR_DUPLICATE, CONFLICT_MINORITY, CONFLICT_DROPPED, LEAKED_EXACT, LEAKED_NEAR = range(1, 7)
SPLITS = ("train", "dev", "test")


@dataclass
class RowState:
    """Per-row arrays. ``scopes``: rows are compared for duplicates and conflicts only within a scope
    (one scope per given split file, or a single one when the inputs are pooled and split afterwards)."""

    groups: np.ndarray          # int64: id of the exact (cleaned) text
    labels: np.ndarray          # int64: label id, -1 without a label
    scopes: np.ndarray          # int64
    reason: np.ndarray = field(default=None)
    duplicate_of: np.ndarray = field(default=None)

    def __post_init__(self):
        n = len(self.groups)
        if self.reason is None:
            self.reason = np.zeros(n, dtype=np.int8)
        if self.duplicate_of is None:
            self.duplicate_of = np.full(n, -1, dtype=np.int64)

    @property
    def kept(self) -> np.ndarray:
        return self.reason == 0


def _first_of_each(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row (in ``rows``), the first row (lowest index) with the same key."""
    order = np.lexsort((rows, keys))
    sorted_keys = keys[order]
    starts = np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]])
    first_in_sorted = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    first = np.empty(len(rows), dtype=np.int64)
    first[order] = rows[order[first_in_sorted]]
    return first


def _combine(*columns: np.ndarray) -> np.ndarray:
    """One int64 key per row from several non-negative int columns (dense-ranked so nothing overflows)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        values, ranked = np.unique(col, return_inverse=True)
        key = key * len(values) + ranked
        key = np.unique(key, return_inverse=True)[1]
    return key


def mark_duplicates(state: RowState, cluster: np.ndarray, reason: int) -> None:
    """Keep the first kept row of each (scope, cluster, label); mark the later ones with ``reason``."""
    rows = np.flatnonzero(state.kept)
    if not len(rows):
        return
    key = _combine(state.scopes[rows], cluster[rows], state.labels[rows])
    first = _first_of_each(key, rows)
    later = first != rows
    state.reason[rows[later]] = reason
    state.duplicate_of[rows[later]] = first[later]


def conflicting_groups(state: RowState) -> tuple[np.ndarray, np.ndarray]:
    """Kept labelled rows whose exact text carries more than one label in their scope, and the key
    (scope, text) of each such row."""
    rows = np.flatnonzero(state.kept & (state.labels >= 0))
    if not len(rows):
        return rows, rows
    text_key = _combine(state.scopes[rows], state.groups[rows])
    pair_key = _combine(text_key, state.labels[rows])
    distinct_pairs = np.unique(pair_key, return_index=True)[1]
    labels_per_text = np.bincount(text_key[distinct_pairs], minlength=text_key.max() + 1)
    hit = labels_per_text[text_key] > 1
    return rows[hit], text_key[hit]


def resolve_conflicts(state: RowState, mode: str) -> dict:
    """``keep``: report only; ``drop``: remove every row of a conflicting text; ``majority``: keep the rows
    with the most frequent label of that text (a tie removes them all)."""
    rows, text_key = conflicting_groups(state)
    report = {"texts": int(len(np.unique(text_key))), "rows": int(len(rows)), "removed": 0}
    if mode == "keep" or not len(rows):
        return report
    if mode == "drop":
        state.reason[rows] = CONFLICT_DROPPED
        report["removed"] = int(len(rows))
        return report
    pair_key = _combine(text_key, state.labels[rows])
    pair_counts = np.bincount(pair_key)[pair_key]                 # rows of this (text, label)
    best = np.zeros(text_key.max() + 1, dtype=np.int64)
    np.maximum.at(best, text_key, pair_counts)
    is_best = pair_counts == best[text_key]
    best_pairs = np.unique(pair_key[is_best], return_index=True)[1]
    winners_per_text = np.bincount(text_key[is_best][best_pairs], minlength=len(best))
    lose = ~is_best | (winners_per_text[text_key] > 1)            # a tie: no label wins
    state.reason[rows[lose]] = CONFLICT_MINORITY
    report["removed"] = int(lose.sum())
    return report


def assign_splits(labels: np.ndarray, kept: np.ndarray, fractions: tuple[float, ...], stratify: bool,
                  seed: int) -> np.ndarray:
    """Split index (0 train, 1 dev, 2 test; -1 for removed rows) with the exact shares of ``fractions``,
    per label when ``stratify``."""
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), -1, dtype=np.int8)
    pools = shuffled_by_class(labels, rng, among=kept) if stratify else [rng.permutation(np.flatnonzero(kept))]
    bounds = np.cumsum(fractions)[:-1]
    for pool in pools:
        cuts = np.round(bounds * len(pool)).astype(int)
        for s, part in enumerate(np.split(pool, cuts)):
            split[part] = s
    return split


def leakage(state: RowState, split: np.ndarray, cluster: np.ndarray | None, remove: bool) -> dict:
    """Dev/test rows whose text (exact) or near-duplicate cluster (near) also occurs in kept train rows.

    With ``remove`` the train rows concerned are removed (the dev and test sets stay as they are).
    """
    report = {}
    for kind, key, code in (("exact", state.groups, LEAKED_EXACT), ("near", cluster, LEAKED_NEAR)):
        if key is None:
            continue
        kept = state.kept
        train = kept & (split == 0)
        size = int(key.max()) + 1 if len(key) else 0
        in_train = np.zeros(size, dtype=bool)
        in_train[key[train]] = True
        held_rep = np.full(size, -1, dtype=np.int64)
        for s, name in ((1, "dev"), (2, "test")):
            rows = np.flatnonzero(kept & (split == s))
            leaked = rows[in_train[key[rows]]]
            report.setdefault(name, {})[kind] = int(len(leaked))
            held_rep[key[leaked]] = leaked
        if remove:
            hit = np.flatnonzero(train & (held_rep[key] >= 0))
            state.reason[hit] = code
            state.duplicate_of[hit] = held_rep[key[hit]]
            report.setdefault("train_rows_removed", {})[kind] = int(len(hit))
    return report


def near_clusters(n_groups: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A cluster id per text group: the first earlier group it nearly duplicates that is itself kept as a
    representative, else its own id. Group ids follow first occurrence, so this is greedy in input order.

    Not connected components: those chain a ~ b ~ c and remove c as a copy of a that it may not resemble at
    all; at a million rows of SST-2 and AG News such chains made a third of the removals wrong
    (bench/data_prepare.py). Here a removed text always resembles the text it is listed as a copy of.
    """
    early, late = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((early, late))  # by the later group, then its earliest neighbour
    rep = list(range(n_groups))
    for g, h in zip(late[order].tolist(), early[order].tolist()):
        if rep[g] == g and rep[h] == h:
            rep[g] = h
    return np.asarray(rep, dtype=np.int64)
