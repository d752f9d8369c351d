"""A causal-LM artifact served in-process: OpenAI routes (plain and streamed), keys counting tokens, a
disconnecting client freeing its slot, TEI routes on the embedding model beside it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lmforge.generation.embeddings import SentenceEncoder
from lmforge.generation.engine import GenerationEngine
from lmforge.generation.sampling import SamplingParams
from lmforge.serving.app import create_app
from lmforge.serving.keys import KeyStore, usage_by_key
from lmforge.serving.settings import ServeConfig
from tests.generation.conftest import build_tiny_llama
from tests.serving.conftest import running_app

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    return build_tiny_llama(tmp_path_factory.mktemp("served-llama"))


@pytest.fixture
def llm_dir(llama_dir, tmp_path):
    return shutil.copytree(llama_dir, tmp_path / "llm")


def sse_events(text: str) -> list:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


async def test_chat_and_completions_match_the_engine_and_report_usage(llm_dir):
    engine = GenerationEngine.load(llm_dir, slots=1, max_len=256)
    messages = [{"role": "user", "content": "hi there"}]
    want = "".join(c.text for c in engine.stream(engine.chat_ids(messages), SamplingParams(max_tokens=8)))
    async with running_app(create_app(llm_dir)) as client:
        chat = await client.post("/v1/chat/completions", json={"model": "x", "messages": messages, "max_tokens": 8,
                                                                "temperature": 0})
        streamed = await client.post("/v1/chat/completions", json={"messages": messages, "max_tokens": 8,
                                                                    "temperature": 0, "stream": True,
                                                                    "stream_options": {"include_usage": True}})
        completion = await client.post("/v1/completions", json={"prompt": "abc", "max_tokens": 5, "n": 2,
                                                                 "temperature": 0.9, "seed": 1})
        models = await client.get("/v1/models")
        card = await client.get("/v1/model")
        classify = await client.post("/v1/classify", json={"texts": ["x"]})
    assert chat.status_code == 200, chat.text
    body = chat.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"] == want
    usage = body["usage"]
    assert usage["prompt_tokens"] == len(engine.chat_ids(messages)) and usage["completion_tokens"] <= 8
    events = sse_events(streamed.text)
    assert events[-1] == "[DONE]" and streamed.headers["content-type"].startswith("text/event-stream")
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == want and chunks[-1]["usage"]["completion_tokens"] == usage["completion_tokens"]
    assert {c["index"] for c in completion.json()["choices"]} == {0, 1}
    assert completion.json()["usage"]["completion_tokens"] <= 10
    assert [m["id"] for m in models.json()["data"]][1] == "all-MiniLM-L6-v2"  # the bundled MiniLM beside the generator
    assert card.json()["task"] == "causal-lm"
    assert classify.status_code == 404


async def test_keys_count_prompts_and_tokens_and_bad_requests_are_4xx(llm_dir):
    key = KeyStore(llm_dir).create("acme", quota="3/day")
    async with running_app(create_app(llm_dir, ServeConfig(max_new_tokens=16, embedding_model="none"))) as client:
        auth = {"Authorization": f"Bearer {key}"}
        none = await client.post("/v1/completions", json={"prompt": "a", "max_tokens": 4})
        ok = await client.post("/v1/completions", json={"prompt": "a", "max_tokens": 4, "n": 2}, headers=auth)
        too_long = await client.post("/v1/completions", json={"prompt": "a", "max_tokens": 99}, headers=auth)
        bad_role = await client.post("/v1/chat/completions", json={"messages": [{"role": "x", "content": "a"}]},
                                     headers=auth)
        over = await client.post("/v1/completions", json={"prompt": ["a", "b"], "max_tokens": 2}, headers=auth)
        embed = await client.post("/v1/embeddings", json={"input": "a"}, headers=auth)
    assert none.status_code == 401 and ok.status_code == 200
    assert too_long.status_code == 422 and bad_role.status_code == 422
    assert over.status_code == 429  # 2 choices used, 2 more prompts > 3 a day
    assert embed.status_code == 404  # --embedding-model none
    usage = usage_by_key(llm_dir)[0]
    assert usage["texts"] == 2 and usage["tokens"] == 1 + ok.json()["usage"]["completion_tokens"]


async def test_a_client_that_leaves_a_stream_frees_its_slot(llm_dir):
    app = create_app(llm_dir, ServeConfig(gen_slots=1, embedding_model="none"))
    async with running_app(app) as client:
        scheduler = app.state.serving.generation.scheduler
        async with client.stream("POST", "/v1/completions", json={"prompt": "a", "max_tokens": 200,
                                                                   "stream": True}) as response:
            async for _ in response.aiter_lines():
                break  # the client goes away after the first event
        for _ in range(200):
            if not scheduler.running:
                break
            import asyncio

            await asyncio.sleep(0.02)
        assert not scheduler.running and not scheduler.waiting
        after = await client.post("/v1/completions", json={"prompt": "b", "max_tokens": 3})
    assert after.status_code == 200


async def test_embeddings_and_tei_routes_on_the_embedding_model(llm_dir):
    encoder = SentenceEncoder.load()
    texts = ["a cat sits on the mat", "stock markets fell"]
    want = encoder.encode(texts)
    async with running_app(create_app(llm_dir)) as client:
        floats = await client.post("/v1/embeddings", json={"input": texts})
        b64 = await client.post("/v1/embeddings", json={"input": texts, "encoding_format": "base64"})
        embed = await client.post("/embed", json={"inputs": texts[0]})
        raw = await client.post("/embed", json={"inputs": texts, "normalize": False})
        similarity = await client.post("/", json={"inputs": {"source_sentence": texts[0], "sentences": texts}})
        rerank = await client.post("/rerank", json={"query": "a cat", "texts": texts[::-1], "return_text": True})
        tokens = await client.post("/tokenize", json={"inputs": "hi"})
        info = await client.get("/info")
    import base64

    got = np.array([d["embedding"] for d in floats.json()["data"]], dtype=np.float32)
    assert np.allclose(got, want, atol=1e-5)
    decoded = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in b64.json()["data"]])
    assert np.array_equal(decoded, got)
    assert np.allclose(embed.json()[0], want[0], atol=1e-5)
    assert np.linalg.norm(raw.json()[0]) > 1.5  # not normalised when asked so
    assert similarity.json()[0] == pytest.approx(1.0, abs=1e-5)
    assert rerank.json()[0]["index"] == 1 and rerank.json()[0]["text"] == texts[0]
    assert [t["text"] for t in tokens.json()[0]] == ["h", "i"]
    assert info.json()["model_type"] == {"generator": {"chat_template": True}}
