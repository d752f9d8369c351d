"""Fixtures for the serving tests: a tiny fine-tuned classifier, and apps over it driven in-process."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_sentiment_csv


@pytest.fixture(scope="session")
def served_model(tmp_path_factory, tiny_model) -> Path:
    """A classifier directory (tiny BERT fine-tuned 2 epochs on the toy sentiment set), evaluated once so the
    model card has metrics and a confusion matrix."""
    import lmforge

    root = tmp_path_factory.mktemp("served")
    data = write_sentiment_csv(root / "train.csv", n=120)
    lmforge.finetune(data, root / "model", model=str(tiny_model), epochs=2, quiet=True, freeze_embeddings=False,
                     max_length=32)
    lmforge.evaluate(root / "model", write_sentiment_csv(root / "test.csv", n=40, seed=3))
    return root / "model"


@pytest.fixture
def model_dir(served_model, tmp_path) -> Path:
    """A private copy (tests that create keys write serving.sqlite beside the model)."""
    return Path(shutil.copytree(served_model, tmp_path / "model"))


@pytest.fixture
def anyio_backend():
    return "asyncio"


@contextlib.asynccontextmanager
async def running_app(app):
    """Run the app's lifespan (model loading, batcher thread) and yield an httpx client over ASGI."""
    async with app.router.lifespan_context(app):
        state = app.state.serving
        for _ in range(400):  # the model loads in a thread after start-up
            if state.ready or state.load_error:
                break
            import asyncio

            await asyncio.sleep(0.025)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
