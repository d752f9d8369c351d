"""Tiny corpora for pretraining tests (a few KB of text: a few seconds per run)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import WORDS

TINY_MODEL = ["--layers", "2", "--heads", "2", "--width", "32", "--context", "16", "--threads", "1", "--quiet"]


def write_text_corpus(path: Path, sentences: int = 400, seed: int = 0) -> Path:
    """Running text with structure a model can learn (word order repeats)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(sentences):
        start = rng.randrange(len(WORDS) - 6)
        lines.append(" ".join(WORDS[start:start + rng.randint(3, 6)]) + ".\n")
    path.write_text("".join(lines))
    return path


@pytest.fixture
def text_corpus(tmp_path) -> Path:
    return write_text_corpus(tmp_path / "corpus.txt")
