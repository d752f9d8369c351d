"""The embedding encoder equals sentence-transformers on the bundled MiniLM (its pooling and normalisation)."""

from __future__ import annotations

import numpy as np

from lmforge.generation.embeddings import SentenceEncoder, read_pooling
from lmforge.models.pretrained import bundled_model_dir


def test_same_vectors_as_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    texts = ["A man is playing a guitar.", "short", "Les marchés boursiers ont chuté hier soir " * 20, "猫が好き"]
    ours = SentenceEncoder.load().encode(texts)
    theirs = SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True).encode(texts)
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 0.9999 and np.allclose(ours, theirs, atol=1e-5)


def test_pooling_settings_are_read_from_the_directory():
    assert read_pooling(bundled_model_dir()) == ("mean", True, 256)
