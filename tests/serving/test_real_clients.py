"""The standard clients, unmodified, against a real ``lmforge serve`` on loopback: the ``openai`` package on a
generator (chat with and without streaming, completions, embeddings in both encodings) and
``huggingface_hub.InferenceClient`` (feature extraction, sentence similarity, chat; text classification on a
classifier)."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from tests.generation.conftest import build_tiny_llama
from tests.serving.test_real_server import start_server


@pytest.fixture
def hub_online(monkeypatch):
    """The suite runs with HF_HUB_OFFLINE=1 (nothing may reach the Hub); these clients talk to loopback only."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def stop(process) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) in (0, -signal.SIGTERM)


def test_openai_and_inference_client_against_a_generation_server(tmp_path, hub_online):
    openai = pytest.importorskip("openai")
    from huggingface_hub import InferenceClient

    process, url = start_server(build_tiny_llama(tmp_path / "llm"))
    try:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        messages = [{"role": "user", "content": "Say hi"}]
        chat = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8, temperature=0)
        assert chat.choices[0].finish_reason in ("stop", "length") and chat.usage.completion_tokens <= 8
        stream = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8, temperature=0,
                                                stream=True)
        streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert streamed == chat.choices[0].message.content
        completion = client.completions.create(model="tiny", prompt="abc", max_tokens=5, temperature=0, n=2)
        assert len(completion.choices) == 2 and completion.choices[0].text == completion.choices[1].text
        assert [m.id for m in client.models.list().data] == ["tiny-llama0", "all-MiniLM-L6-v2"] or \
            len(client.models.list().data) == 2
        texts = ["a cat sits on the mat", "stock markets fell"]
        b64 = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)  # the SDK asks for base64
        floats = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts, encoding_format="float")
        a = np.array([d.embedding for d in b64.data])
        assert a.shape == (2, 384) and np.allclose(a, [d.embedding for d in floats.data], atol=1e-6)
        assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)

        hub = InferenceClient(model=url)
        features = hub.feature_extraction(texts[0])
        assert features.shape == (1, 384) and np.allclose(features[0], a[0], atol=1e-5)
        similarity = hub.sentence_similarity(texts[0], other_sentences=texts)
        assert similarity[0] == pytest.approx(1.0, abs=1e-5) and similarity[1] < 0.5
        hub_chat = hub.chat_completion(messages, max_tokens=8, temperature=0)
        assert hub_chat.choices[0].message.content == chat.choices[0].message.content
    finally:
        if process.poll() is None:
            stop(process)


def test_inference_client_text_classification_on_a_classifier(model_dir, hub_online):
    from huggingface_hub import InferenceClient

    import lmforge

    process, url = start_server(model_dir)
    try:
        result = InferenceClient(model=url).text_classification("a great film")
        want = lmforge.predict(model_dir, ["a great film"])[0]
        assert result[0].label == want.label and result[0].score == pytest.approx(want.score, abs=1e-5)
        assert {r.label for r in result} == {"neg", "pos"}
    finally:
        if process.poll() is None:
            stop(process)
