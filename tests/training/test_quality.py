"""Issue 10: adaptive recipe, baseline artifact, calibration, abstention, long texts, script detection."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import lmforge
from lmforge.config import FinetuneConfig
from lmforge.costs.classical_baseline import choose_features, tfidf_baseline, verdict
from lmforge.data.truncation import truncate
from lmforge.evaluation.calibration import ece, fit_temperature, softmax, threshold_for_precision
from lmforge.inference.predictor import Predictor
from lmforge.models.tfidf import TfidfClassifier
from lmforge.training.adaptive import MAX_TRAIN_TOKENS, adapt, cap_steps, choose_truncation
from tests.conftest import write_sentiment_csv


def profile(rows: int, classes: int, p95: int = 30) -> dict:
    return {"rows": rows, "classes": classes, "rows_per_class": rows / classes, "smallest_class_rows": 1,
            "tokens_p50": p95 // 2, "tokens_p95": p95, "tokens_max": p95 * 2, "unknown_token_share": 0.0,
            "no_space_share": 0.0, "no_space": False}


def test_adaptive_recipe_many_classes_few_rows_trains_longer_and_faster():
    cfg, why = adapt(FinetuneConfig(), profile(9000, 77))  # Banking77's shape
    assert cfg.epochs == 6 and cfg.lr == 1e-4 and cfg.head_lr == 3e-3 and cfg.freeze_layers == 0
    assert cfg.max_length == 128
    assert "rows per class" in why["epochs"]["reason"] and why["profile"]["classes"] == 77


def test_adaptive_recipe_plentiful_data_keeps_the_sst2_recipe_exactly():
    cfg, why = adapt(FinetuneConfig(), profile(54000, 2))  # SST-2's shape
    assert (cfg.epochs, cfg.lr, cfg.head_lr, cfg.freeze_layers, cfg.max_length) == (2, 5e-5, 5e-5, None, 128)
    from lmforge.training.finetune import head_lr_scale

    assert head_lr_scale(cfg.resolved(), ["classifier.weight"]) is None  # one lr group: the old optimizer


def test_adaptive_recipe_a_few_thousand_rows_per_class_is_not_plentiful():
    cfg, why = adapt(FinetuneConfig(), profile(9000, 4))  # AG News' shape (dev.tsv as train)
    assert (cfg.epochs, cfg.lr, cfg.head_lr, cfg.freeze_layers) == (2, 1e-4, 3e-3, 0)


def test_a_task_recipe_fills_unset_full_finetuning_settings_only(tiny_model):
    from types import SimpleNamespace

    from lmforge.models.pretrained import load_tokenizer
    from lmforge.tasks import get_task
    from lmforge.training.finetune import choose_settings

    from lmforge.tasks.token_classification import TaggedSentences

    ner = get_task("token-classification")
    tokenizer, model = load_tokenizer(tiny_model), SimpleNamespace(config=SimpleNamespace(max_position_embeddings=512))
    conll = TaggedSentences(tokens=[["a"]] * 14_040 + [["a"] * 150], tags=[["O"]] * 14_040 + [["O"] * 150],
                            rows=list(range(14_041)))
    cfg, why = choose_settings(FinetuneConfig(task=ner.name, lr=2e-5), ner, tokenizer, conll, model)
    assert (cfg.lr, cfg.head_lr, cfg.freeze_layers, cfg.epochs) == (2e-5, 3e-3, 0, 2)
    assert why["lr"]["reason"] == "given by the user" and "token classification" in why["head_lr"]["reason"]
    assert cfg.max_length == 160 and "152 tokens" in why["max_length"]["reason"]  # every word gets a tag
    cfg, why = choose_settings(FinetuneConfig(task=ner.name, method="lora"), ner, tokenizer, conll, model)
    assert cfg.lr == 5e-4 and cfg.head_lr is None and set(why) == {"epochs", "patience", "max_length"}
    assert cfg.patience == 0  # the example budget's epochs all run; the best dev checkpoint is kept
    cfg, why = choose_settings(FinetuneConfig(task=ner.name, patience=3, max_length=64), ner, tokenizer, conll, model)
    assert (cfg.patience, cfg.max_length) == (3, 64) and why["patience"]["reason"] == "given by the user"
    assert FinetuneConfig().resolved().patience == 2  # tasks without an example budget stop early


def test_user_flags_always_override_the_adaptive_choice():
    cfg, why = adapt(FinetuneConfig(epochs=3, lr=2e-5, max_length=64), profile(9000, 77))
    assert (cfg.epochs, cfg.lr, cfg.max_length) == (3, 2e-5, 64)
    assert why["lr"]["reason"] == why["epochs"]["reason"] == "given by the user"


def test_a_token_budget_ends_long_runs_mid_epoch_unless_the_user_chose_the_epochs():
    lengths = [40] * 30_000  # 1.2M tokens an epoch: 2 epochs are over the budget
    cfg, why = adapt(FinetuneConfig(), profile(30_000, 7))
    capped = cap_steps(cfg, lengths, why)
    assert capped.max_steps == round(MAX_TRAIN_TOKENS / (40 * 30_000) * 938) < 2 * 938
    assert capped.epochs == why["epochs"]["value"] == -(-capped.max_steps // 938)
    assert "budget" in why["max_steps"]["reason"]
    cfg, why = adapt(FinetuneConfig(), profile(58_614, 2))  # SST-2: its measured 2 epochs fit the budget
    assert cap_steps(cfg, [13] * 58_614, why).max_steps is None
    for given in (FinetuneConfig(epochs=2), FinetuneConfig(dp_epsilon=8.0, method="lora")):
        cfg, why = adapt(given, profile(30_000, 7))
        assert cap_steps(cfg, lengths, why).max_steps is None  # the user's epochs, or DP's accountant
    cfg, why = adapt(FinetuneConfig(), profile(9000, 77))  # Banking77: 6 epochs of short texts fit
    assert cap_steps(cfg, [16] * 9000, why).max_steps is None and "max_steps" not in why
    with pytest.raises(lmforge.ConfigError, match="accountant"):
        FinetuneConfig(max_steps=10, dp_epsilon=3.0, method="lora").validate()


def test_long_texts_raise_max_length_and_switch_to_head_tail():
    cfg, why = adapt(FinetuneConfig(), profile(5000, 2, p95=900))
    assert cfg.max_length == 256
    cfg = choose_truncation(cfg, [900] * 60 + [100] * 40, why)
    assert cfg.truncation == "head+tail" and "60.0%" in why["truncation"]["reason"]
    ids = [101, *range(1, 1000), 102]
    cut = truncate(ids, 10, "head+tail")
    assert len(cut) == 10 and cut[0] == 101 and cut[-1] == 102 and cut[1:3] == [1, 2] and cut[-2] == 999
    assert truncate(ids, 10, "head") == [101, *range(1, 9), 102]


def test_char_ngrams_are_chosen_for_chinese_and_word_ngrams_for_english():
    spec, why = choose_features(["很快，好吃，味道足，量大", "没有送水没有送水", "送餐太慢了，菜都凉了"] * 5)
    assert spec.analyzer == "char" and "character" in why
    spec, _ = choose_features(["the food was great", "delivery was slow"] * 5)
    assert spec.analyzer == "word"


def write_rows(path, rows, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def baseline_dir(tmp_path):
    """The baseline of a toy sentiment set, saved as a model directory."""
    rows = list(csv.reader(open(write_sentiment_csv(tmp_path / "train.csv", n=200))))[1:]
    texts, labels = [r[0] for r in rows], [r[1] for r in rows]
    record = tfidf_baseline(texts[:160], labels[:160], texts[160:], labels[160:], label_order=["neg", "pos"],
                            output=tmp_path / "baseline", inputs={"train": {"text_column": "text",
                                                                            "label_column": "label"}})
    assert record["accuracy"] >= 0.9 and record["path"]
    return tmp_path / "baseline"


def test_baseline_artifact_round_trip_predict_evaluate(baseline_dir, tmp_path):
    m = json.loads((baseline_dir / "manifest.json").read_text())
    assert m["kind"] == "tfidf-classifier" and m["labels"] == ["neg", "pos"]
    assert not list(baseline_dir.glob("*.pkl")) and (baseline_dir / "tfidf.safetensors").exists()
    preds = lmforge.predict(baseline_dir, ["the film was superb", "the plot was awful", ""])
    assert [p.label for p in preds[:2]] == ["pos", "neg"] and set(preds[2].scores) == {"neg", "pos"}
    # the same logits as the model trained in memory (the saved arrays are the model)
    model = TfidfClassifier.load(baseline_dir)
    np.testing.assert_allclose(Predictor.load(baseline_dir).logits(["a lovely story"]),
                               model.logits(["a lovely story"]), atol=1e-6)
    metrics = lmforge.evaluate(baseline_dir, write_sentiment_csv(tmp_path / "test.csv", n=40, seed=3))
    assert metrics["accuracy"] >= 0.9 and metrics["backend"] == "tfidf"
    from lmforge.costs.report import CostSettings, cost_report

    report = cost_report(baseline_dir, CostSettings(benchmark_seconds=0.2, data=str(tmp_path / "test.csv")),
                         tmp_path / "cost")
    assert [b["backend"] for b in report["backends"]] == ["tfidf"]
    assert report["backends"][0]["throughput"]["sentences_per_s"] > 0



@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_baseline_serves_and_abstains_through_serve(baseline_dir):
    from lmforge.serving.app import create_app
    from tests.serving.conftest import running_app

    async with running_app(create_app(baseline_dir)) as client:
        r = await client.post("/v1/classify", json={"texts": ["a great film", "the plot was awful"]})
    assert r.status_code == 200, r.text
    assert [x["label"] for x in r.json()["results"]] == ["pos", "neg"]

    m = json.loads((baseline_dir / "manifest.json").read_text())
    m["abstain"] = {"label": "__abstain__", "threshold": 0.9}
    (baseline_dir / "manifest.json").write_text(json.dumps(m))
    out_of_scope = "zzz qqq xyzzy"  # no known n-gram: the prior, far below 0.9
    async with running_app(create_app(baseline_dir)) as client:
        r = await client.post("/v1/classify", json={"texts": [out_of_scope, "great great superb lovely"]})
        tei = await client.post("/predict", json={"inputs": [[out_of_scope], ["great great superb lovely"]]})
        raw = await client.post("/predict", json={"inputs": out_of_scope, "raw_scores": True})
    assert [x["label"] for x in r.json()["results"]] == ["__abstain__", "pos"]
    abstained, answered = tei.json()  # TEI clients read [0]: the abstain label first, the classes after it
    assert abstained[0]["label"] == "__abstain__" and [x["label"] for x in abstained[1:]] != []
    assert abstained[0]["score"] == pytest.approx(1 - abstained[1]["score"])
    assert answered[0]["label"] == "pos" and "__abstain__" not in [x["label"] for x in answered]
    assert "__abstain__" not in [x["label"] for x in raw.json()]  # logits: no probability to compare
    assert [p.label for p in lmforge.predict(baseline_dir, [out_of_scope, "great great superb lovely"])] == [
        "__abstain__", "pos"]


def test_temperature_scaling_reduces_ece_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    n, k = 2000, 5
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0          # ~60% accurate ...
    logits *= 8.0                           # ... and far too sure of itself
    t = fit_temperature(logits, y)
    assert t > 2.0
    before, after = ece(softmax(logits), y), ece(softmax(logits / t), y)
    assert after < before / 3 and after < 0.05
    assert (softmax(logits / t).argmax(-1) == logits.argmax(-1)).all()  # the answers never change


def test_threshold_for_precision_answers_only_what_it_can_get_right():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]])
    y = np.array([0, 0, 1, 0])
    assert threshold_for_precision(probs, y, 1.0) == pytest.approx(0.8)
    assert threshold_for_precision(probs, y, 0.7) == pytest.approx(0.55)


def test_verdict_says_plainly_when_the_baseline_wins(tmp_path):
    v = verdict(0.80, {"accuracy": 0.91, "predictions_per_s": 50000, "path": str(tmp_path / "baseline")}, tmp_path)
    assert v["winner"] == "baseline" and "baseline is as good or better" in v["message"]
    assert verdict(0.93, {"accuracy": 0.88}, tmp_path)["winner"] == "fine-tuned"
    from lmforge.evaluation.report import _verdict_html

    assert "The TF-IDF baseline won." in _verdict_html(v) and "ship" in _verdict_html(v)  # evaluate's report
    assert "baseline won" not in _verdict_html(verdict(0.93, {"accuracy": 0.88}, tmp_path)) and not _verdict_html(None)


def test_finetune_records_adaptive_calibration_abstain_and_the_baseline(tmp_path, tiny_model, sentiment_csv):
    out = tmp_path / "run"
    result = lmforge.finetune(sentiment_csv, out, model=str(tiny_model), epochs=2, batch_size=16,
                              freeze_embeddings=False, quiet=True, target_precision=0.9)
    m = result.manifest
    assert m["adaptive"]["max_length"]["value"] == 64  # the tiny model's position limit caps it
    assert m["adaptive"]["truncation"]["value"] == "head" and m["config"]["truncation"] == "head"
    assert m["calibration"]["temperature"] > 0 and "dev_ece_after" in m["calibration"]
    assert m["abstain"]["label"] == "__abstain__" and 0 <= m["abstain"]["threshold"] <= 1
    assert m["verdict"]["winner"] in ("baseline", "fine-tuned")
    assert (out / "baseline" / "manifest.json").exists() and m["baseline"]["path"] == str(out / "baseline")
    p = Predictor.load(out)
    assert p.temperature == m["calibration"]["temperature"] and p.abstain["threshold"] == m["abstain"]["threshold"]
