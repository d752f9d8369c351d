"""Length-sorted batching returns every result in input order, equal to one-at-a-time inference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.data.batching import length_bucketed_batches, pad_batch, sorted_batches
from lmforge.inference.predictor import batched_logits


def fake_forward(batch):
    # logit 0: number of real tokens; logit 1: sum of ids — any mix-up of rows or padding shows
    mask = batch["attention_mask"].numpy()
    ids = batch["input_ids"].numpy()
    return np.stack([mask.sum(1), (ids * mask).sum(1)], axis=1).astype(np.float32)


@given(st.lists(st.lists(st.integers(1, 50), min_size=1, max_size=30), min_size=0, max_size=60),
       st.integers(8, 200), st.integers(1, 16))
@settings(max_examples=60, deadline=None)
def test_batched_logits_keep_order(encoded, max_tokens, max_batch):
    out = batched_logits(fake_forward, encoded, pad_id=0, max_tokens=max_tokens, max_batch=max_batch)
    if not encoded:
        assert out.shape[0] == 0
        return
    expected = np.array([[len(e), sum(e)] for e in encoded], dtype=np.float32)
    np.testing.assert_array_equal(out, expected)


@given(st.lists(st.integers(1, 128), min_size=1, max_size=500), st.integers(1, 64), st.integers(0, 5))
@settings(max_examples=40, deadline=None)
def test_length_buckets_cover_every_example_once(lengths, batch_size, epoch):
    batches = length_bucketed_batches(lengths, batch_size, seed=1, epoch=epoch)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert batches == length_bucketed_batches(lengths, batch_size, seed=1, epoch=epoch)  # deterministic


def test_length_buckets_cut_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, 5000).tolist()
    pad = lambda bs: 1 - sum(lengths) / sum(max(lengths[i] for i in b) * len(b) for b in bs)  # noqa: E731
    random_batches = [list(range(i, min(i + 32, 5000))) for i in range(0, 5000, 32)]
    assert pad(length_bucketed_batches(lengths, 32, 0, 0)) < 0.05 < 0.3 < pad(random_batches)


def test_sorted_batches_respect_the_token_budget():
    lengths = [5, 50, 7, 49, 3, 20]
    for batch in sorted_batches(lengths, max_tokens=100, max_batch=8):
        assert max(lengths[i] for i in batch) * len(batch) <= 100 or len(batch) == 1


def test_pad_batch_shapes():
    b = pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert b["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
