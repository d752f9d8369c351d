"""--extend-vocab: continued pretraining of an English tokenizer on Chinese text adds the characters it maps
to [UNK], grows the (tied) embeddings, and the artifact reloads in plain transformers with the new tokens."""

from __future__ import annotations

from lmforge.models.pretrained import load_tokenizer
from lmforge.pretraining.config import PretrainConfig
from lmforge.pretraining.recipe import continued_tokenizer, pretrain
from lmforge.models.vocabulary import MIN_COUNT, extend_vocabulary, grow_embeddings

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


def chinese_sentiment_csv(path, n=120):
    good = ["这家店很好吃", "味道不错，还会再来", "送餐很快，好评"]
    bad = ["送餐太慢了，菜都凉了", "味道很差，不会再来", "太难吃了，差评"]
    rows = [(good[i % 3] if i % 2 else bad[i % 3], "pos" if i % 2 else "neg") for i in range(n)]
    path.write_text("text,label\n" + "\n".join(f"{t},{y}" for t, y in rows) + "\n", encoding="utf-8")
    return path


def test_finetuning_on_unknown_script_trains_only_the_new_embedding_rows(tmp_path, tiny_model):
    import lmforge
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    data = chinese_sentiment_csv(tmp_path / "train.csv")
    run = lmforge.finetune(data, tmp_path / "clf", model=str(tiny_model), epochs=2, batch_size=16, max_length=32,
                           quiet=True)
    vocabulary = run.manifest["adaptive"]["vocabulary"]
    assert vocabulary["extended"] and vocabulary["added"] > 10
    first_new = vocabulary["first_new_id"]
    assert run.manifest["adaptive"]["profile"]["unknown_token_share"] < 0.05  # measured after extending

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "clf")
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "clf")
    assert model.config.vocab_size == len(tokenizer) == first_new + vocabulary["added"]
    assert tokenizer.unk_token_id not in tokenizer("很好吃", add_special_tokens=False)["input_ids"]
    trained = model.get_input_embeddings().weight.detach()
    base = next(v for k, v in load_file(tiny_model / "model.safetensors").items() if "word_embeddings" in k)
    assert torch.equal(trained[:first_new], base), "the pretrained rows stay frozen (no decay either)"

    off = lmforge.finetune(data, tmp_path / "off", model=str(tiny_model), epochs=1, batch_size=16, max_length=32,
                           extend_vocab="off", quiet=True)
    assert "vocabulary" not in off.manifest["adaptive"]
    assert AutoModelForSequenceClassification.from_pretrained(tmp_path / "off").config.vocab_size == first_new


def test_the_new_rows_train(tmp_path, tiny_model, monkeypatch):
    """The added rows leave the values resizing drew for them: they learn, at head_lr."""
    from transformers import AutoModelForSequenceClassification

    import lmforge
    import lmforge.training.finetune as finetune_module

    drawn = {}

    def grow_and_remember(model, tokenizer):
        grown = grow_embeddings(model, tokenizer)
        drawn["rows"] = model.get_input_embeddings().weight.detach().clone()
        return grown

    monkeypatch.setattr(finetune_module, "grow_embeddings", grow_and_remember)
    run = lmforge.finetune(chinese_sentiment_csv(tmp_path / "train.csv"), tmp_path / "clf", model=str(tiny_model),
                           epochs=2, batch_size=16, max_length=32, quiet=True)
    first_new = run.manifest["adaptive"]["vocabulary"]["first_new_id"]
    rows = AutoModelForSequenceClassification.from_pretrained(tmp_path / "clf").get_input_embeddings().weight
    moved = (rows[first_new:] - drawn["rows"][first_new:]).norm(dim=1)
    assert (moved > 1e-3).float().mean() > 0.5, "most new rows are seen in training and move"


def test_extend_vocab_on_is_refused_where_new_rows_cannot_train():
    import pytest

    from lmforge.config import FinetuneConfig
    from lmforge.errors import ConfigError

    for bad in (dict(method="lora"), dict(method="head"), dict(dp_epsilon=3.0)):
        with pytest.raises(ConfigError, match="extend-vocab"):
            FinetuneConfig(extend_vocab="on", **bad).validate()
    with pytest.raises(ConfigError, match="extend_vocab"):
        FinetuneConfig(extend_vocab="sometimes").validate()
    with pytest.raises(ConfigError, match="extend-vocab on"):
        PretrainConfig(extend_vocab="on").validate()  # no --from: the corpus trains its own tokenizer
