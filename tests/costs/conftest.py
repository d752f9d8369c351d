from __future__ import annotations

import pytest

from tests.conftest import write_sentiment_csv


@pytest.fixture(scope="package")
def tiny_run(tmp_path_factory, tiny_model):
    """A fine-tuned tiny classifier (with its manifest, baseline and tracked run), shared by the cost tests."""
    import lmforge

    root = tmp_path_factory.mktemp("tiny-run")
    data = write_sentiment_csv(root / "train.csv", n=200, seed=3)
    lmforge.finetune(data, root / "run", model=str(tiny_model), epochs=2, batch_size=16, lr=5e-3, max_length=32,
                     freeze_embeddings=False, quiet=True)
    return root / "run"
