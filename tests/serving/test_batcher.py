"""Dynamic batching: under concurrency every caller gets exactly its own results, equal to unbatched ones."""

from __future__ import annotations

import asyncio
import random
import threading

import numpy as np
import pytest

from lmforge.inference.predictor import Predictor
from lmforge.serving.app import create_app
from lmforge.serving.batcher import DynamicBatcher, InferenceFailed
from lmforge.serving.settings import ServeConfig
from tests.conftest import WORDS
from tests.serving.conftest import running_app

pytestmark = pytest.mark.anyio


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 25))) for _ in range(n)]


async def test_concurrent_requests_are_coalesced_and_each_gets_its_own_results(model_dir):
    predictor = Predictor.load(model_dir)
    sizes: list[int] = []
    real_forward = predictor.backend.forward

    def recording_forward(batch):
        sizes.append(batch["input_ids"].shape[0])
        return real_forward(batch)

    requests = [random_texts(random.Random(i).randint(1, 5), seed=i) for i in range(60)]
    expected = [predictor.predict_proba(texts) for texts in requests]  # unbatched reference, one call per request
    predictor.backend.forward = recording_forward
    config = ServeConfig(max_wait_ms=20, max_batch_size=32, max_batch_tokens=2048)
    async with running_app(create_app(model_dir, config, predictor=predictor)) as client:
        responses = await asyncio.gather(*(client.post("/v1/classify", json={"texts": texts}) for texts in requests))
    for texts, want, r in zip(requests, expected, responses, strict=True):
        assert r.status_code == 200
        got = np.array([[res["scores"][label] for label in predictor.labels] for res in r.json()["results"]])
        assert got.shape == (len(texts), 2)
        np.testing.assert_allclose(got, want, atol=1e-5)  # batched == unbatched, in the caller's order
    assert max(sizes) > 5, f"requests were not coalesced: forward batch sizes {sizes}"
    assert sum(sizes) == sum(len(t) for t in requests) and max(sizes) <= 32


def fake_forward(batch):
    """Logits that encode each row's length and first token: whose row is whose is visible in the result."""
    ids, mask = batch["input_ids"].numpy(), batch["attention_mask"].numpy()
    return np.stack([mask.sum(1), ids[:, 1]], axis=1).astype(np.float32)


async def test_batcher_respects_budgets_and_returns_rows_in_request_order():
    seen = []

    def forward(batch):
        seen.append(tuple(batch["input_ids"].shape))
        return fake_forward(batch)

    batcher = DynamicBatcher(forward, pad_id=0, max_batch_tokens=64, max_batch_size=8, max_wait_s=0.05).start()
    rng = random.Random(0)
    requests = [[[101, rng.randint(1000, 2000)] + [5] * rng.randint(0, 10) for _ in range(rng.randint(1, 3))]
                for _ in range(30)]
    try:
        results = await asyncio.gather(*(batcher.submit(r, timeout_s=10) for r in requests))
    finally:
        batcher.stop()
    for encoded, logits in zip(requests, results, strict=True):
        assert logits.tolist() == [[len(ids), ids[1]] for ids in encoded]
    assert all(rows * length <= 64 or rows == 1 for rows, length in seen)
    assert all(rows <= 8 for rows, _ in seen) and len(seen) < 30


async def test_an_oversized_request_alone_is_split_not_refused():
    batcher = DynamicBatcher(fake_forward, pad_id=0, max_batch_tokens=32, max_batch_size=4).start()
    try:
        encoded = [[101, i, 5, 5] for i in range(20)]
        logits = await batcher.submit(encoded, timeout_s=10)
    finally:
        batcher.stop()
    assert logits[:, 1].tolist() == list(range(20))


async def test_a_failing_batch_fails_its_callers_only_and_the_thread_survives():
    calls = {"n": 0}

    def forward(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return fake_forward(batch)

    batcher = DynamicBatcher(forward, pad_id=0, max_wait_s=0).start()
    try:
        with pytest.raises(InferenceFailed) as failure:
            await batcher.submit([[101, 7]], timeout_s=10)
        assert failure.value.status == 500 and isinstance(failure.value.cause, RuntimeError)
        assert (await batcher.submit([[101, 9]], timeout_s=10)).tolist() == [[2, 9]]
    finally:
        batcher.stop()


async def test_stop_finishes_what_is_queued_then_refuses():
    gate = threading.Event()
    batcher = DynamicBatcher(lambda b: (gate.wait(5), fake_forward(b))[1], pad_id=0, max_wait_s=0,
                             max_batch_size=1).start()
    pending = [asyncio.create_task(batcher.submit([[101, i]], timeout_s=10)) for i in range(3)]
    await asyncio.sleep(0.05)
    stopper = asyncio.create_task(asyncio.to_thread(batcher.stop))
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*pending)
    await stopper
    assert [r[0, 1] for r in results] == [0, 1, 2]
    with pytest.raises(Exception, match="shutting down"):
        await batcher.submit([[101, 1]], timeout_s=1)
