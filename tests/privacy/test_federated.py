"""Federated fine-tuning: partitions, a FedAvg round on a tiny model, and a loadable global artifact."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import lmforge
from lmforge.config import FinetuneConfig
from lmforge.errors import ConfigError
from lmforge.federated.partition import iid_partition, label_skew_partition
from lmforge.federated.simulation import FederatedConfig, run_federated
from tests.conftest import write_sentiment_csv


def test_partitions_cover_every_row_once():
    labels = np.array([0] * 300 + [1] * 300 + [2] * 400)
    for parts in (iid_partition(labels, 5, seed=0), label_skew_partition(labels, 5, alpha=0.3, seed=0)):
        rows = sorted(i for p in parts for i in p)
        assert rows == list(range(1000)) and len(parts) == 5
    iid = iid_partition(labels, 5, seed=0)
    assert all(abs(Counter(labels[p])[2] / len(p) - 0.4) < 0.05 for p in iid)        # same label mix
    skew = label_skew_partition(labels, 5, alpha=0.1, seed=0)
    assert max(max(Counter(labels[p]).values()) / len(p) for p in skew) > 0.8        # a dominant label
    with pytest.raises(ConfigError, match="at least 2 clients"):
        iid_partition(labels, 1)


@pytest.mark.parametrize("method,partition", [("head", "label-skew"), ("lora", "iid")])
def test_fedavg_rounds_yield_a_loadable_artifact(tmp_path, tiny_encoder, method, partition):
    train = write_sentiment_csv(tmp_path / "train.csv", n=160)
    fed = FederatedConfig(clients=3, rounds=2, partition=partition, alpha=1.0)
    cfg = FinetuneConfig(model=str(tiny_encoder), method=method, batch_size=16, max_length=32,
                         lr=5e-2 if method == "head" else 2e-2, freeze_embeddings=False)
    result = run_federated(train, tmp_path / "fed", federated=fed, config=cfg, quiet=True)
    m = result.manifest
    assert [h["round"] for h in m["metrics"]["history"]] == [0, 1, 2]             # before training, each round
    assert sum(m["federated"]["client_rows"]) == m["inputs"]["train"]["rows"]
    comm = m["communication"]
    assert comm["bytes_per_round"] == 2 * 3 * comm["bytes_per_message"] > 0
    predictions = lmforge.predict(tmp_path / "fed", ["the film was superb", "the plot was awful"])
    assert {p.label for p in predictions} <= {"neg", "pos"}


def test_refuses_dp_and_bad_settings(tmp_path):
    with pytest.raises(ConfigError, match="clients must be at least 2"):
        FederatedConfig(clients=1).validate()
    with pytest.raises(ConfigError, match="not combined with federated"):
        run_federated(tmp_path / "t.csv", tmp_path / "o", config=FinetuneConfig(dp_epsilon=1.0))
