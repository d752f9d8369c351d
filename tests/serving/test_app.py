"""Every route, error and limit of the app, in-process through the ASGI transport."""

from __future__ import annotations

import asyncio

import json

import numpy as np
import pytest

from lmforge.inference.predictor import Predictor
from lmforge.serving.app import create_app
from lmforge.serving.settings import ServeConfig
from tests.serving.conftest import running_app

pytestmark = pytest.mark.anyio


async def test_classify_returns_labels_and_probabilities_matching_the_predictor(model_dir):
    texts = ["a great film", "the plot was awful", "really boring actor", "superb"]
    expected = Predictor.load(model_dir).predict(texts)
    async with running_app(create_app(model_dir)) as client:
        r = await client.post("/v1/classify", json={"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "model" and body["tokens"] > len(texts) and r.headers["x-request-id"] == body["request_id"]
    for result, want in zip(body["results"], expected, strict=True):
        assert result["label"] == want.label
        assert result["score"] == pytest.approx(want.score, abs=1e-5)
        assert set(result["scores"]) == {"neg", "pos"}
        assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-5)


async def test_tei_predict_shape_single_and_batch_and_raw_scores(model_dir):
    predictor = Predictor.load(model_dir)
    async with running_app(create_app(model_dir)) as client:
        single = await client.post("/predict", json={"inputs": "a great film"})
        batch = await client.post("/predict", json={"inputs": [["a great film"], ["awful plot"]]})
        pair = await client.post("/predict", json={"inputs": ["a great film", "awful plot"]})  # TEI: ONE pair
        pairs = await client.post("/predict", json={"inputs": [["a great film", "awful plot"], ["a", "b"]]})
        flat3 = await client.post("/predict", json={"inputs": ["a great film", "awful plot", "fine"]})
        raw = await client.post("/predict", json={"inputs": "a great film", "raw_scores": True})
    assert {r.status_code for r in (single, batch, pair, pairs, flat3, raw)} == {200}
    one = single.json()
    assert [set(p) for p in one] == [{"label", "score"}] * 2
    assert one[0]["score"] >= one[1]["score"]  # best first, like TEI
    assert batch.json()[0] == one and len(batch.json()) == 2
    assert [set(p) for p in pair.json()] == [{"label", "score"}] * 2  # one answer: the pair is one input
    pair_logits = predictor.backend.forward(predictor.tokenizer(["a great film"], ["awful plot"], return_tensors="pt"))
    assert {p["label"]: p["score"] for p in pair.json()} == pytest.approx(
        dict(zip(predictor.labels, predictor.probabilities(pair_logits)[0].tolist())), abs=1e-5)
    assert len(pairs.json()) == 2 and pairs.json()[0] == pair.json()
    assert len(flat3.json()) == 3 and flat3.json()[0] == one
    logits = predictor.logits(["a great film"])[0]
    assert {p["label"]: p["score"] for p in raw.json()} == pytest.approx(
        dict(zip(predictor.labels, logits.tolist())), abs=1e-4)


async def test_tei_predict_without_truncate_refuses_texts_longer_than_the_model(model_dir):
    long_text = " ".join(["good film"] * 100)  # far past max_length=32 tokens
    async with running_app(create_app(model_dir)) as client:
        refused = await client.post("/predict", json={"inputs": long_text})
        cut = await client.post("/predict", json={"inputs": long_text, "truncate": True})
        classify = await client.post("/v1/classify", json={"texts": [long_text]})
    assert refused.status_code == 413 and refused.json()["limit"] == 32
    assert cut.status_code == 200 and classify.status_code == 200


async def test_health_ready_model_card_docs_and_page(model_dir):
    async with running_app(create_app(model_dir)) as client:
        health, ready = await client.get("/health"), await client.get("/ready")
        card, docs, page = await client.get("/v1/model"), await client.get("/docs"), await client.get("/")
        schema = await client.get("/openapi.json")
        js = await client.get("/static/app.js")
    assert health.json() == {"status": "ok"} and ready.status_code == 200 and ready.json()["backend"] == "torch"
    card = card.json()
    assert card["labels"] == ["neg", "pos"] and card["auth_required"] is False and card["max_length"] == 32
    assert "accuracy" in card["metrics"]["dev"] and "accuracy" in card["metrics"]["eval/test"]
    assert np.array(card["confusion_matrix"]["matrix"]).sum() == 40
    assert card["cost"]["usd"] > 0 and card["limits"]["max_texts"] == 256
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert {"/v1/classify", "/predict", "/health", "/ready", "/metrics", "/v1/model"} <= set(schema.json()["paths"])
    assert page.status_code == 200 and "/static/app.js" in page.text and "Model card" in page.text
    assert js.status_code == 200 and "classify" in js.text


async def test_ready_is_503_until_the_model_is_loaded_and_predictions_wait_for_it(model_dir):
    app = create_app(model_dir)
    transport_app = app  # no lifespan yet: nothing is loaded
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=transport_app), base_url="http://t") as client:
        ready = await client.get("/ready")
        classify = await client.post("/v1/classify", json={"texts": ["good"]})
        health = await client.get("/health")
    assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
    assert classify.status_code == 503 and "loading" in classify.json()["error"]
    assert health.status_code == 200


async def test_a_model_that_cannot_load_is_reported_by_ready(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    async with running_app(create_app(tmp_path)) as client:
        ready = await client.get("/ready")
        classify = await client.post("/v1/classify", json={"texts": ["good"]})
    assert ready.status_code == 503 and "not ready" in ready.json()["error"]
    assert classify.status_code == 503 and "could not be loaded" in classify.json()["error"]


@pytest.mark.parametrize("body, status, needle", [
    (b'{"texts": ["good", ', 400, "not valid JSON"),
    (b'{"texts": ["\xff\xfe bad utf-8"]}', 400, "UTF-8"),
    (b'{"texts": "not a list"}', 422, "texts"),
    (b'{"texts": [1, 2]}', 422, "texts"),
    (b'{"texts": []}', 422, "empty"),
    (b'{"txts": ["good"]}', 422, "texts"),
    (b'{"texts": ["\\ud800 lone surrogate"]}', 422, "Unicode"),
    (b'[]', 422, "schema"),
])
async def test_bad_input_is_a_4xx_json_error_never_a_500(model_dir, body, status, needle):
    async with running_app(create_app(model_dir)) as client:
        r = await client.post("/v1/classify", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()
    assert needle in error["error"] and error["request_id"] == r.headers["x-request-id"]


async def test_limits_say_the_limit(model_dir):
    config = ServeConfig(max_texts=3, max_chars=50, max_body_bytes=2000)
    async with running_app(create_app(model_dir, config)) as client:
        many = await client.post("/v1/classify", json={"texts": ["good"] * 4})
        long = await client.post("/v1/classify", json={"texts": ["good " * 11]})
        huge = await client.post("/v1/classify", json={"texts": ["x" * 3000]})

        async def chunks():  # no Content-Length: the limit is enforced while reading
            for _ in range(5):
                yield b" " * 500
        streamed = await client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
        ok = await client.post("/v1/classify", json={"texts": ["good"] * 3})
    assert (many.status_code, many.json()["limit"]) == (413, 3)
    assert (long.status_code, long.json()["limit"]) == (422, 50)
    assert (huge.status_code, huge.json()["limit"]) == (413, 2000)
    assert streamed.status_code == 413
    assert ok.status_code == 200


async def test_an_inference_failure_is_a_500_with_request_id_and_the_server_keeps_serving(model_dir):
    predictor = Predictor.load(model_dir)
    real_forward = predictor.backend.forward
    calls = {"n": 0}

    def flaky_forward(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated out-of-memory")
        return real_forward(batch)

    predictor.backend.forward = flaky_forward
    async with running_app(create_app(model_dir, predictor=predictor)) as client:
        failed = await client.post("/v1/classify", json={"texts": ["good"]}, headers={"x-request-id": "req-42"})
        after = await client.post("/v1/classify", json={"texts": ["good"]})
    assert failed.status_code == 500 and failed.json()["request_id"] == "req-42"
    assert "RuntimeError" in failed.json()["error"] and failed.headers["x-request-id"] == "req-42"
    assert after.status_code == 200


async def test_a_full_queue_answers_503_with_retry_after(model_dir):
    import asyncio
    import threading

    predictor = Predictor.load(model_dir)
    real_forward, gate, entered = predictor.backend.forward, threading.Event(), threading.Event()

    def slow_forward(batch):
        entered.set()
        gate.wait(10)
        return real_forward(batch)

    predictor.backend.forward = slow_forward
    config = ServeConfig(max_queue=2, max_wait_ms=0, max_batch_size=1)
    async with running_app(create_app(model_dir, config, predictor=predictor)) as client:
        # One request is taken into the (blocked) forward, two fill the queue, the rest must be refused.
        first = asyncio.create_task(client.post("/v1/classify", json={"texts": ["good 0"]}))
        assert await asyncio.to_thread(entered.wait, 10)  # on a busy machine the batcher may take a while
        tasks = [first] + [asyncio.create_task(client.post("/v1/classify", json={"texts": [f"good {i}"]}))
                           for i in range(1, 6)]
        await asyncio.sleep(0.5)
        gate.set()
        responses = await asyncio.gather(*tasks)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 3 and codes.count(503) >= 1 and set(codes) <= {200, 503}
    refused = next(r for r in responses if r.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1 and "overloaded" in refused.json()["error"]


async def test_a_request_past_its_deadline_gets_503_not_a_hang(model_dir):
    import threading

    predictor = Predictor.load(model_dir)
    real_forward, gate = predictor.backend.forward, threading.Event()
    predictor.backend.forward = lambda batch: (gate.wait(10), real_forward(batch))[1]
    async with running_app(create_app(model_dir, ServeConfig(timeout_s=0.3), predictor=predictor)) as client:
        r = await client.post("/v1/classify", json={"texts": ["good"]})
        gate.set()
    assert r.status_code == 503 and "deadline" in r.json()["error"] and r.headers["retry-after"] == "1"


async def test_metrics_count_routes_statuses_batches_texts_and_tokens(model_dir):
    async with running_app(create_app(model_dir)) as client:
        await client.post("/v1/classify", json={"texts": ["good", "bad film"]})
        await client.post("/v1/classify", json={"texts": []})
        await client.get("/nope")
        for _ in range(50):  # the batch is recorded by the inference thread just after callers are released
            text = (await client.get("/metrics")).text
            if "lmforge_batch_texts_count 1.0" in text:
                break
            await asyncio.sleep(0.05)
    assert 'lmforge_requests_total{route="/v1/classify",status="200"} 1.0' in text
    assert 'lmforge_requests_total{route="/v1/classify",status="422"} 1.0' in text
    assert 'lmforge_requests_total{route="other",status="404"} 1.0' in text
    assert 'lmforge_request_seconds_bucket{le="0.005",route="/v1/classify"}' in text
    assert "lmforge_batch_texts_count 1.0" in text and "lmforge_texts_total 2.0" in text
    assert "lmforge_queue_depth 0.0" in text and "lmforge_ready 1.0" in text
    tokens = float(next(line.split()[-1] for line in text.splitlines() if line.startswith("lmforge_tokens_total")))
    assert tokens >= 6


async def test_unknown_route_and_method_are_json_errors(model_dir):
    async with running_app(create_app(model_dir)) as client:
        missing = await client.get("/v2/nothing")
        wrong_method = await client.get("/v1/classify")
    assert missing.status_code == 404 and json.loads(missing.text)["error"] == "Not Found"
    assert wrong_method.status_code == 405
