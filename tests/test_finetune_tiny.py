"""Fine-tuning on a tiny model built from config: every method, artifacts, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import lmforge
from lmforge.inference.predictor import Predictor

# Random tiny embeddings carry no meaning, so they are trained here (freezing them is for pretrained models).
FAST = dict(epochs=3, batch_size=16, max_length=32, quiet=True, freeze_embeddings=False)  # 2 layers: none frozen


@pytest.mark.parametrize("method,lr", [("full", 5e-3), ("lora", 2e-2), ("head", 3e-2)])
def test_each_method_learns_and_exports_a_plain_transformers_model(tmp_path, tiny_model, tiny_encoder,
                                                                    sentiment_csv, method, lr):
    out = tmp_path / method
    base = tiny_model if method == "full" else tiny_encoder
    result = lmforge.finetune(sentiment_csv, out, model=str(base), method=method, lr=lr,
                              **{**FAST, "epochs": 20 if method == "head" else 6})  # head epochs are cheap
    assert result.metrics["accuracy"] >= 0.8, result.manifest["metrics"]["history"]

    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert model.config.label2id == {"neg": 0, "pos": 1}
    assert (out / "model.safetensors").exists() and not list(out.glob("*.bin"))
    tok = AutoTokenizer.from_pretrained(out)
    batch = tok(["the film was superb", "the plot was awful"], return_tensors="pt", padding=True)
    with torch.no_grad():
        plain = model(**batch).logits.argmax(-1).tolist()
    assert [model.config.id2label[i] for i in plain] == ["pos", "neg"]
    assert not (out / "checkpoints").exists()  # cleaned up after a finished run


def test_manifest_records_the_run(tmp_path, tiny_model, sentiment_csv):
    out = tmp_path / "run"
    lmforge.finetune(sentiment_csv, out, model=str(tiny_model), **FAST)
    m = json.loads((out / "manifest.json").read_text())
    # 54 rows per class are "few": the adaptive recipe raises the encoder lr and gives the head its own
    assert m["config"]["epochs"] == 3 and m["config"]["lr"] == 1e-4 and m["config"]["head_lr"] == 3e-3
    assert m["adaptive"]["epochs"]["reason"] == "given by the user"
    assert m["adaptive"]["lr"]["value"] == 1e-4 and "rows per class" in m["adaptive"]["lr"]["reason"]
    assert m["base_model"]["sha256"] and len(m["base_model"]["sha256"]) == 64
    train = m["inputs"]["train"]
    assert train["sha256"] and train["rows"] + len(m["inputs"]["dev_split"]["rows"]) == 120
    assert sum(train["label_distribution"].values()) == train["rows"]
    assert m["inputs"]["dev"]["rows"] == len(m["inputs"]["dev_split"]["rows"]) == 12
    assert len(m["metrics"]["history"]) == 3
    t = m["training"]
    assert t["samples"] == 3 * train["rows"] and t["tokens"] <= t["tokens_computed"]
    assert 0 <= t["padding_fraction"] < 0.5
    assert m["wall_s"] > 0 and m["cpu_s"] > 0 and m["peak_memory_mb"] > 0
    assert m["hardware"]["cpu_model"] and m["hardware"]["logical_cores"] >= 1
    assert m["cost"]["usd"] == pytest.approx(m["wall_s"] / 3600 * m["cost"]["price_per_hour"], rel=1e-3)
    assert m["versions"]["torch"].startswith("2.13")


def test_same_seed_same_weights(tmp_path, tiny_model, sentiment_csv):
    a = lmforge.finetune(sentiment_csv, tmp_path / "a", model=str(tiny_model), seed=3, **FAST)
    b = lmforge.finetune(sentiment_csv, tmp_path / "b", model=str(tiny_model), seed=3, **FAST)
    pa, pb = Predictor.load(a.output), Predictor.load(b.output)
    texts = ["the film was superb", "dull plot", "an actor"]
    np.testing.assert_array_equal(pa.logits(texts), pb.logits(texts))


def test_lora_adapter_reloads_with_peft_and_predicts_the_same(tmp_path, tiny_encoder, sentiment_csv):
    from peft import PeftModel
    from safetensors.torch import load_file

    out = tmp_path / "lora"
    run = lmforge.finetune(sentiment_csv, out, model=str(tiny_encoder), method="lora", lr=1e-2, **FAST)
    adapter_weights = sum(v.numel() for k, v in load_file(out / "adapter" / "adapter_model.safetensors").items()
                          if "lora_" in k)
    assert run.manifest["training"]["trainable_parameters"] > adapter_weights > 0  # counted before the merge
    tok = AutoTokenizer.from_pretrained(out)
    batch = tok(["the film was superb", "the plot was awful", "a scene"], return_tensors="pt", padding=True)
    merged = AutoModelForSequenceClassification.from_pretrained(out).eval()
    base = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=2)
    adapter = PeftModel.from_pretrained(base, out / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(adapter(**batch).logits, merged(**batch).logits, atol=1e-5, rtol=1e-4)


def test_head_method_trains_only_the_head(tmp_path, tiny_encoder, sentiment_csv):
    from safetensors.torch import load_file

    out = tmp_path / "head"
    lmforge.finetune(sentiment_csv, out, model=str(tiny_encoder), method="head", lr=1e-2, **FAST)
    base = load_file(tiny_encoder / "model.safetensors")
    tuned = load_file(out / "model.safetensors")
    for name, value in base.items():
        key = "bert." + name if "bert." + name in tuned else name
        if "pooler" not in name:
            torch.testing.assert_close(tuned[key], value, msg=name)


def test_given_dev_file_is_used_and_split_not_made(tmp_path, tiny_model, sentiment_csv):
    from tests.conftest import write_sentiment_csv

    dev = write_sentiment_csv(tmp_path / "dev.csv", n=30, seed=5)
    result = lmforge.finetune(sentiment_csv, tmp_path / "out", dev, model=str(tiny_model), **FAST)
    assert result.manifest["inputs"]["dev"]["rows"] == 30
    assert result.manifest["inputs"]["dev_split"] is None
    assert result.manifest["inputs"]["train"]["rows"] == 120


def test_freeze_layers_keeps_embeddings_and_lower_layers_as_they_were(tmp_path, tiny_model, sentiment_csv):
    from lmforge.errors import ConfigError

    out = tmp_path / "frozen"
    lmforge.finetune(sentiment_csv, out, model=str(tiny_model), freeze_layers=1, **{**FAST, "epochs": 1})
    before = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=2).state_dict()
    after = AutoModelForSequenceClassification.from_pretrained(out).state_dict()
    for name, value in after.items():
        if name.startswith(("bert.embeddings.", "bert.encoder.layer.0.")):
            assert torch.equal(value, before[name]), name
        elif name.startswith("bert.encoder.layer.1.attention.self.query.weight"):
            assert not torch.equal(value, before[name])  # the layer above trained
    with pytest.raises(ConfigError, match="freeze fewer"):
        lmforge.finetune(sentiment_csv, tmp_path / "all", model=str(tiny_model), freeze_layers=2,
                         **{**FAST, "epochs": 1})
    assert not (tmp_path / "all" / "checkpoints").exists()  # nothing to --resume from a run that never started


def test_bf16_on_a_cpu_needs_native_bf16_and_trains_fp32_weights(tmp_path, tiny_model, sentiment_csv, monkeypatch):
    from lmforge.errors import ConfigError
    from lmforge.training import finetune as finetune_module

    if torch.cuda.is_available():
        pytest.skip("the CPU rules of --precision")
    assert finetune_module.choose_mixed_precision("auto") == "no"  # auto stays fp32 on a CPU
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        finetune_module.choose_mixed_precision("fp16")
    (tmp_path / "kept" / "checkpoints" / "latest").mkdir(parents=True)
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):  # refused before --overwrite deletes anything
        lmforge.finetune(sentiment_csv, tmp_path / "kept", model=str(tiny_model), precision="fp16", overwrite=True)
    assert (tmp_path / "kept" / "checkpoints" / "latest").exists()
    with monkeypatch.context() as patch:
        patch.setattr(finetune_module, "cpu_has_bf16", lambda: False)
        with pytest.raises(ConfigError, match="AVX512-BF16 or AMX"):
            finetune_module.choose_mixed_precision("bf16")
        patch.setattr(finetune_module, "cpu_has_bf16", lambda: True)
        assert finetune_module.choose_mixed_precision("bf16") == "bf16"
    if not finetune_module.cpu_has_bf16():
        return  # the training half needs a CPU that has bf16
    result = lmforge.finetune(sentiment_csv, tmp_path / "bf16", model=str(tiny_model), precision="bf16",
                              **{**FAST, "epochs": 1})
    assert result.manifest["training"]["mixed_precision"] == "bf16"
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "bf16")
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast computes; weights stay fp32
    assert np.isfinite(Predictor.load(tmp_path / "bf16").logits(["a fine film"])).all()
