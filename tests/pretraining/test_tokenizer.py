"""Tokenizers trained by `lmforge tokenizer train` load with AutoTokenizer and round-trip text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lmforge.pretraining.tokenizer_training import train_tokenizer
from tests.conftest import REPO

TEXT = "The quick brown fox jumps over the lazy dog. 外卖送得很快，味道也不错！\n" * 50


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram", "char"])
def test_each_kind_loads_with_autotokenizer(tmp_path, kind):
    from transformers import AutoTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    train_tokenizer([corpus], tmp_path / kind, kind=kind, vocab_size=300, min_frequency=1)
    tok = AutoTokenizer.from_pretrained(tmp_path / kind)
    sample = "the lazy fox 味道很快"
    ids = tok(sample, add_special_tokens=False).input_ids
    assert tok.unk_token_id not in ids or kind == "wordpiece"
    decoded = tok.decode(ids)
    if kind in ("bpe", "char"):
        assert decoded == sample  # byte-level and character vocabularies are lossless
    else:
        assert decoded.replace(" ", "") == sample.replace(" ", "")
    if kind == "bpe":
        assert all(len(t) <= 16 for t in tok.convert_ids_to_tokens(ids))
        # CJK runs are split from Latin text before merging: no token mixes scripts
        pieces = tok.convert_ids_to_tokens(tok("fox味道", add_special_tokens=False).input_ids)
        assert not any("x" in p and len(p) > 2 for p in pieces if not p.isascii())


def test_cli_trains_and_reports(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    proc = subprocess.run([sys.executable, "-m", "lmforge", "tokenizer", "train", str(corpus), "--output",
                           str(tmp_path / "tok"), "--vocab-size", "280", "--kind", "bpe", "--quiet"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "peak memory" in proc.stdout and (tmp_path / "tok" / "tokenizer.json").exists()
