"""How the training rows are split over simulated clients: IID, or label-skewed (Dirichlet) non-IID.

    >>> iid_partition(labels, clients=5, seed=0)          # [[row indices of client 0], …]
    >>> label_skew_partition(labels, clients=5, alpha=0.5, seed=0)

Label skew follows the usual benchmark recipe (Hsu et al., 2019, "Measuring the effects of non-identical
data distribution"): for each label, its rows are shared among the clients in proportions drawn from
Dirichlet(α); small α gives each client a few dominant labels, large α tends to IID.
"""

from __future__ import annotations

import numpy as np

from lmforge.errors import ConfigError


def iid_partition(labels, clients: int, seed: int = 0) -> list[list[int]]:
    """Each label's rows shuffled and dealt round-robin: every client gets n/clients rows with the label mix
    of the whole set (stratified, so small sets do not drift by chance)."""
    _check(len(labels), clients)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)])
    return [sorted(order[c::clients].tolist()) for c in range(clients)]


def label_skew_partition(labels, clients: int, alpha: float = 0.5, seed: int = 0, min_rows: int = 2
                         ) -> list[list[int]]:
    """Each label's rows split over the clients by Dirichlet(``alpha``) proportions (redrawn until every
    client holds at least ``min_rows`` rows)."""
    _check(len(labels), clients)
    if alpha <= 0:
        raise ConfigError(f"the Dirichlet alpha of the non-IID split must be positive, got {alpha}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        parts: list[list[int]] = [[] for _ in range(clients)]
        for label in np.unique(labels):
            rows = rng.permutation(np.flatnonzero(labels == label))
            cuts = (np.cumsum(rng.dirichlet([alpha] * clients)) * len(rows)).astype(int)[:-1]
            for c, piece in enumerate(np.split(rows, cuts)):
                parts[c].extend(piece.tolist())
        if min(map(len, parts)) >= min_rows:
            return [sorted(p) for p in parts]
    raise ConfigError(f"could not split {len(labels)} rows over {clients} clients with alpha {alpha} so that each "
                      f"holds {min_rows} rows; use fewer clients or a larger alpha")


def _check(rows: int, clients: int) -> None:
    if clients < 2:
        raise ConfigError(f"federated training needs at least 2 clients, got {clients}")
    if rows < 2 * clients:
        raise ConfigError(f"{rows} training rows are too few for {clients} clients; use fewer clients")
