"""Pretraining end to end on tiny models: the loss goes down, artifacts reload in plain transformers,
a head-less checkpoint gets a tied MLM head, and the result fine-tunes."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from lmforge.pretraining.config import PretrainConfig
from lmforge.pretraining.recipe import pretrain

TINY = dict(layers=2, heads=2, width=32, context=16, threads=1)


def test_clm_loss_goes_down_and_the_artifact_generates(tmp_path, text_corpus):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = PretrainConfig(objective="clm", tokenizer="char", batch_size=16, max_steps=60, lr=3e-3,
                         eval_every=20, **TINY)
    result = pretrain([text_corpus], tmp_path / "clm", cfg, quiet=True)
    history = result.manifest["metrics"]["history"]
    assert [h["step"] for h in history] == [20, 40, 60]
    assert history[-1]["val_loss"] < history[0]["val_loss"] - 0.3
    assert result.metrics["val_loss"] == min(h["val_loss"] for h in history)
    training = result.manifest["training"]
    assert training["tokens_seen"] == 60 * 16 * 16 and training["tokens_per_s"] > 0
    assert result.manifest["inputs"]["corpus"][0]["sha256"]
    assert not (tmp_path / "clm" / "checkpoints").exists() and not (tmp_path / "clm" / "data").exists()

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "clm")
    tok = AutoTokenizer.from_pretrained(tmp_path / "clm")
    assert {p.name for p in (tmp_path / "clm").iterdir()} >= {"model.safetensors", "tokenizer.json", "config.json"}
    ids = tok("the film", return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=6, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 6
    assert tok.decode(out[0, :ids.shape[1]]) == "the film"


def test_bf16_pretraining_on_a_cpu_with_native_bf16_learns(tmp_path, text_corpus):
    import pytest

    from lmforge.errors import ConfigError
    from lmforge.metering.hardware import cpu_has_bf16

    if torch.cuda.is_available():
        pytest.skip("the CPU rules of --precision")
    with pytest.raises(ConfigError, match="objective mlm on a CPU"):  # measured far slower than fp32
        pretrain([text_corpus], tmp_path / "mlm", PretrainConfig(objective="mlm", precision="bf16", **TINY),
                 quiet=True)
    if not cpu_has_bf16():
        pytest.skip("needs a CPU with AVX512-BF16 or AMX")
    cfg = PretrainConfig(objective="clm", tokenizer="char", batch_size=16, max_steps=40, lr=3e-3, eval_every=20,
                         precision="bf16", **TINY)
    result = pretrain([text_corpus], tmp_path / "bf16", cfg, quiet=True)
    history = result.manifest["metrics"]["history"]
    assert result.manifest["training"]["mixed_precision"] == "bf16"
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert all(w.dtype == torch.float32 for w in load_file(tmp_path / "bf16" / "model.safetensors").values())


def test_gradient_accumulation_gives_the_same_weights(tmp_path, text_corpus):
    runs = {}
    for accumulation in (1, 4):
        cfg = PretrainConfig(objective="clm", tokenizer="char", batch_size=8, grad_accumulation=accumulation,
                             max_steps=6, max_grad_norm=0.0, **TINY)
        pretrain([text_corpus], tmp_path / f"acc{accumulation}", cfg, quiet=True)
        runs[accumulation] = load_file(tmp_path / f"acc{accumulation}" / "model.safetensors")
    for name, value in runs[1].items():
        assert torch.allclose(value, runs[4][name], atol=1e-5), name


def test_token_budget_stops_the_run(tmp_path, text_corpus):
    cfg = PretrainConfig(objective="clm", tokenizer="char", batch_size=4, max_tokens=4 * 16 * 5, **TINY)
    result = pretrain([text_corpus], tmp_path / "budget", cfg, quiet=True)
    assert result.manifest["training"]["steps"] == 5


def test_mlm_from_scratch_with_whole_word_masking_reloads(tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    corpus = tmp_path / "zh.jsonl"
    texts = ["外卖送得很快，味道也不错", "这家店的菜太咸了，不会再点", "北京烤鸭很好吃，包装也很好"] * 40
    corpus.write_text("".join(json.dumps({"review": t}, ensure_ascii=False) + "\n" for t in texts))
    cfg = PretrainConfig(objective="mlm", tokenizer="wordpiece", vocab_size=200, batch_size=8, max_steps=10,
                         whole_word_masking=True, **TINY)
    result = pretrain([corpus], tmp_path / "mlm", cfg, quiet=True)
    assert result.manifest["task"] == "masked-lm" and result.metrics["val_loss"] > 0
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "mlm")
    tok = AutoTokenizer.from_pretrained(tmp_path / "mlm")
    assert tok.tokenize("北京烤鸭") == ["北", "京", "烤", "鸭"]  # CJK characters split, as Chinese BERTs do
    logits = model(**tok("外卖[MASK]得很快", return_tensors="pt")).logits
    assert logits.shape[-1] == len(tok)


def test_continued_pretraining_creates_a_tied_mlm_head_and_finetunes(tmp_path, tiny_model):
    import lmforge
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from tests.conftest import write_sentiment_csv

    data = write_sentiment_csv(tmp_path / "train.csv", n=200)
    cfg = PretrainConfig(objective="mlm", from_model=str(tiny_model), batch_size=8, max_steps=8, lr=1e-3,
                         context=32, threads=1)
    result = pretrain([data], tmp_path / "dapt", cfg, quiet=True)
    created = result.manifest["model"]["created"]
    assert created and all(k.startswith("cls.") for k in created)
    assert result.manifest["model"]["head_tied_to_embeddings"]

    mlm = AutoModelForMaskedLM.from_pretrained(tmp_path / "dapt")
    decoder, embeddings = mlm.cls.predictions.decoder.weight, mlm.bert.embeddings.word_embeddings.weight
    assert decoder.data_ptr() == embeddings.data_ptr(), "the output projection is the word-embedding matrix"
    saved = load_file(tmp_path / "dapt" / "model.safetensors")
    base = load_file(tiny_model / "model.safetensors")
    pooler = [k for k in saved if "pooler" in k]
    assert pooler and all(torch.equal(saved[k], base[k.removeprefix("bert.")] if k.removeprefix("bert.") in base
                                      else base[k]) for k in pooler), "the checkpoint's pooler is kept"
    _, info = AutoModelForSequenceClassification.from_pretrained(tmp_path / "dapt", num_labels=2,
                                                                 output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]

    run = lmforge.finetune(data, tmp_path / "clf", model=str(tmp_path / "dapt"), epochs=1, batch_size=16,
                           max_length=32, quiet=True)
    assert 0 <= run.metrics["accuracy"] <= 1
