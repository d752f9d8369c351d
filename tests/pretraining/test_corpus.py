"""Block packing: every token once per epoch, fixed lengths, nanoGPT's 90/10 split, streamed from disk."""

from __future__ import annotations

import json

import numpy as np

from lmforge.data.corpus import PackedBlocks, corpus_files, tokenize_corpus
from lmforge.pretraining.tokenizer_training import train_tokenizer


def char_tokenizer(tmp_path, corpus):
    from transformers import AutoTokenizer

    train_tokenizer([corpus], tmp_path / "tok", kind="char")
    return AutoTokenizer.from_pretrained(tmp_path / "tok")


def test_split_is_nanogpts_and_blocks_cover_every_token(tmp_path, text_corpus):
    tok = char_tokenizer(tmp_path, text_corpus)
    corpus = tokenize_corpus([text_corpus], tok, tmp_path / "data", separator_id=tok.eos_token_id, progress=False)
    text = text_corpus.read_text()
    assert len(corpus.tokens) == len(text), "one file: no separator, one token per character"
    train, val = corpus.split(0.1)
    n = len(text)
    assert len(train.tokens) == int(n * 0.9) and len(val.tokens) == n - int(n * 0.9)
    assert tok.decode(train.tokens.array()[-20:].tolist()) == text[int(n * 0.9) - 20:int(n * 0.9)]

    blocks = PackedBlocks(train, block_tokens=17, stride=16)
    batch = blocks.batch(0, batch_size=blocks.blocks_per_epoch, seed=0)["input_ids"]
    assert batch.shape == (blocks.blocks_per_epoch, 17)
    # block j of an epoch starts at shift + j * 16: distinct positions, each reached once per epoch
    data = train.tokens.array()
    order, shift = blocks._epoch(0, 0)
    assert 0 <= shift < 16 and len(set(order[:blocks.blocks_per_epoch].tolist())) == blocks.blocks_per_epoch
    for row, j in zip(batch[:50], order[:50]):
        assert np.array_equal(row, data[shift + j * 16: shift + j * 16 + 17])
    again = blocks.batch(0, batch_size=8, seed=0)["input_ids"]
    assert np.array_equal(again, batch[:8]), "a batch depends only on its number and the seed"
    assert not np.array_equal(blocks.batch(blocks.blocks_per_epoch // 8, 8, 0)["input_ids"], again)


def test_tables_and_folders_are_read_with_separators(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps({"text": t, "label": 1}) + "\n" for t in ["ab", "cd"]))
    (folder / "b.csv").write_text("review\nef\n")
    (folder / "c.txt").write_text("gh\nij\n")
    assert [p.name for p in corpus_files([folder])] == ["a.jsonl", "b.csv", "c.txt"]
    tok = char_tokenizer(tmp_path, folder)
    corpus = tokenize_corpus([folder], tok, tmp_path / "data", separator_id=tok.eos_token_id, progress=False)
    decoded = tok.decode(corpus.tokens.array().tolist())
    assert decoded == "ab<|endoftext|>cd<|endoftext|>ef<|endoftext|>gh\nij\n"
    assert [f["documents"] for f in corpus.files] == [2, 1, 1]
    assert all(len(f["sha256"]) == 64 for f in corpus.files)


def test_tokenized_corpus_is_reused_when_inputs_are_unchanged(tmp_path, text_corpus):
    tok = char_tokenizer(tmp_path, text_corpus)
    tokenize_corpus([text_corpus], tok, tmp_path / "data", separator_id=None, progress=False)
    stamp = (tmp_path / "data" / "tokens.bin").stat().st_mtime_ns
    tokenize_corpus([text_corpus], tok, tmp_path / "data", separator_id=None, progress=False)
    assert (tmp_path / "data" / "tokens.bin").stat().st_mtime_ns == stamp
    text_corpus.write_text(text_corpus.read_text() + "more text\n")
    again = tokenize_corpus([text_corpus], tok, tmp_path / "data", separator_id=None, progress=False)
    assert len(again.tokens) == len(text_corpus.read_text())


def test_jieba_word_starts_mark_the_first_character_of_each_chinese_word():
    from lmforge.data.corpus import _word_start_flags, jieba_word_starts

    text = "我爱北京 good"  # jieba: 我 / 爱 / 北京 / ' ' / good
    offsets = [(0, 1), (1, 2), (2, 3), (3, 4), (5, 9)]  # one token per character, then a word
    assert _word_start_flags(text, offsets, jieba_word_starts) == [1, 1, 1, 0, 1]
