"""The real bundled SmolLM2-135M-Instruct: converted once (cached), then answers through its chat template."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_smollm2_converts_once_and_answers_the_capital_of_france():
    pytest.importorskip("gguf")
    from lmforge.generation.convert import bundled_chat_model_dir, bundled_gguf_path, file_sha256
    from lmforge.generation.engine import GenerationEngine
    from lmforge.generation.sampling import SamplingParams
    from lmforge.artifacts import read_manifest

    try:
        bundled_gguf_path()
    except Exception as e:  # noqa: BLE001
        pytest.skip(str(e))
    model_dir = bundled_chat_model_dir()
    manifest = read_manifest(model_dir)
    assert manifest["source"]["sha256"] == file_sha256(bundled_gguf_path()) and manifest["task"] == "causal-lm"
    engine = GenerationEngine.load(model_dir, slots=1, max_len=512)
    ids = engine.chat_ids([{"role": "user", "content": "What is the capital of France?"}])
    chunks = list(engine.stream(ids, SamplingParams(max_tokens=24)))
    assert "Paris" in "".join(c.text for c in chunks) and chunks[-1].finish_reason == "stop"
