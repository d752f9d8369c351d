"""Fixtures for the compression tests: one fine-tuned tiny classifier (the parent of every artifact)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_sentiment_csv


@pytest.fixture(scope="session")
def parent_model(tmp_path_factory, tiny_model) -> Path:
    """Tiny BERT fine-tuned on the toy sentiment set until it is accurate (a dev split is held out)."""
    import lmforge

    root = tmp_path_factory.mktemp("compress-parent")
    data = write_sentiment_csv(root / "train.csv", n=240, seed=2)
    lmforge.finetune(data, root / "model", model=str(tiny_model), epochs=5, lr=3e-3, batch_size=16, max_length=32,
                     freeze_embeddings=False, patience=0, quiet=True)
    return root / "model"


@pytest.fixture(scope="session")
def toy_eval(tmp_path_factory) -> Path:
    return write_sentiment_csv(tmp_path_factory.mktemp("compress-eval") / "eval.csv", n=80, seed=7)


@pytest.fixture(scope="session")
def compressed(tmp_path_factory, parent_model, toy_eval):
    """Artifacts made once and shared: ``compressed("onnx")`` → its directory."""
    from lmforge.compression import CompressConfig, compress

    root = tmp_path_factory.mktemp("compressed")
    made: dict[str, Path] = {}

    def make(method: str) -> Path:
        if method not in made:
            # A width-32 model has few weights per row, so one int8 rounding can flip a borderline toy example
            # (1.25 points of 80): the 1-point guard itself is tested on the real MiniLM (test_real_minilm.py).
            config = CompressConfig(to=method, eval=str(toy_eval), speed_texts=32, timing_rounds=1, max_drop=10)
            made[method] = compress(parent_model, root / method, config, quiet=True).output
        return made[method]

    return make
