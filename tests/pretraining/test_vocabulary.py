"""--extend-vocab: continued pretraining of an English tokenizer on Chinese text adds the characters it maps
to [UNK], grows the (tied) embeddings, and the artifact reloads in plain transformers with the new tokens."""

from __future__ import annotations

from lmforge.models.pretrained import load_tokenizer
from lmforge.pretraining.config import PretrainConfig
from lmforge.pretraining.recipe import continued_tokenizer, pretrain
from lmforge.pretraining.vocabulary import MIN_COUNT, extend_vocabulary

REVIEWS = ["这家店很好吃，送餐也快", "送餐太慢了，菜都凉了", "味道不错，还会再来", "good food but slow delivery"]


def chinese_corpus(path, repeats=20):
    path.write_text("\n".join(REVIEWS * repeats) + "\n", encoding="utf-8")
    return path


def test_frequent_unknown_characters_become_tokens(tiny_model):
    tokenizer = load_tokenizer(tiny_model)
    before = len(tokenizer)
    texts = REVIEWS * MIN_COUNT + ["罕见"]  # 罕 and 见 are seen once: too rare to learn
    info = extend_vocabulary(tokenizer, texts, mode="auto")
    assert info["extended"] and info["unknown_share_before"] > 0.5
    assert info["unknown_share_after"] < 0.01
    assert len(tokenizer) == before + info["added"]
    ids = tokenizer("很好吃", add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids and len(ids) == 3
    assert tokenizer.unk_token_id in tokenizer("罕", add_special_tokens=False)["input_ids"]


def test_auto_leaves_a_tokenizer_that_knows_the_corpus_alone(tiny_model):
    tokenizer = load_tokenizer(tiny_model)
    before = len(tokenizer)
    info = extend_vocabulary(tokenizer, ["good food but slow delivery"] * 10, mode="auto")
    assert not info["extended"] and len(tokenizer) == before
    assert extend_vocabulary(tokenizer, REVIEWS * 10, mode="off") == {"extended": False, "added": 0}


def test_a_resumed_run_reuses_the_extended_tokenizer(tmp_path, tiny_model):
    corpus = [str(chinese_corpus(tmp_path / "reviews.txt"))]
    cfg = PretrainConfig(objective="mlm", from_model=str(tiny_model)).resolved()
    first, info = continued_tokenizer(cfg, corpus, tmp_path / "tok", quiet=True)
    again, info_again = continued_tokenizer(cfg, corpus, tmp_path / "tok", quiet=True)
    assert info == info_again and first.get_vocab() == again.get_vocab()


def test_continued_pretraining_learns_the_added_tokens_and_reloads(tmp_path, tiny_model):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    corpus = chinese_corpus(tmp_path / "reviews.txt")
    cfg = PretrainConfig(objective="mlm", from_model=str(tiny_model), batch_size=8, max_steps=6, lr=1e-3,
                         context=32, threads=1)
    result = pretrain([corpus], tmp_path / "dapt", cfg, quiet=True)
    added = result.manifest["tokenizer"]["added"]
    assert added > 10 and result.manifest["model"]["embeddings_added"] == added
    assert result.manifest["embedding_lr_scale"] > 1

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "dapt")
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "dapt")
    assert model.config.vocab_size == len(tokenizer) == len(load_tokenizer(tiny_model)) + added
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    ids = tokenizer("送餐太慢了", add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
