"""Backend for the TF-IDF baseline artifact (:mod:`lmforge.models.tfidf`): n-gram ids in, logits out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lmforge.models.tfidf import TfidfClassifier, is_tfidf_artifact  # noqa: F401 (the test, for BACKENDS)


class TfidfBackend:
    name = "tfidf"
    max_positions = 1 << 20  # texts are never cut: every n-gram counts

    def __init__(self, model_dir: Path, device: str | None = None, task=None):
        self.model = TfidfClassifier.load(model_dir)
        self.labels = self.model.labels
        self.tokenizer = self.model.tokenizer  # Predictor encodes with this instead of a HF tokenizer

    def forward(self, batch) -> np.ndarray:
        return self.model.logits_from_ids(batch["input_ids"].numpy(), batch["attention_mask"].numpy())
