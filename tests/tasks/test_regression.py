"""The regression task: targets, loss, metrics, and the round trip finetune → evaluate → predict → plain
transformers → serve (/v1/score) → ONNX, on the tiny BERT."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from lmforge.errors import DataError
from lmforge.tasks import get_task, task_for_artifact
from lmforge.tasks.regression import regression_metrics

POSITIVE = "good great fine lovely superb".split()
NEGATIVE = "bad awful poor dull boring".split()


def write_scores(path: Path, n: int = 120, seed: int = 0, pairs: bool = False) -> Path:
    """A learnable toy score: 5 × the share of positive words (one text, or split over a pair)."""
    rng = random.Random(seed)
    lines = ["sentence1\tsentence2\tscore" if pairs else "text\tscore"]
    for _ in range(n):
        a = [rng.choice(POSITIVE + NEGATIVE) for _ in range(3)]
        b = [rng.choice(POSITIVE + NEGATIVE) for _ in range(3)]
        score = 5 * sum(w in POSITIVE for w in a + b) / 6
        lines.append(f"{' '.join(a)}\t{' '.join(b)}\t{score:.3f}" if pairs else f"{' '.join(a + b)}\t{score:.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def regressor(tmp_path_factory, tiny_model) -> Path:
    import lmforge

    root = tmp_path_factory.mktemp("regression")
    lmforge.finetune(write_scores(root / "train.tsv"), root / "model", task="regression", model=str(tiny_model),
                     epochs=3, lr=1e-3, quiet=True, max_length=32)
    return root / "model"


def test_metrics_match_scipy():
    from scipy.stats import pearsonr, spearmanr

    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 5, 50)
    predicted = gold + rng.normal(0, 1, 50)
    predicted[:5] = predicted[5]  # ties
    metrics = regression_metrics(predicted, gold)
    assert metrics["pearson"] == pytest.approx(pearsonr(predicted, gold)[0])
    assert metrics["spearman"] == pytest.approx(spearmanr(predicted, gold)[0])
    assert metrics["mae"] == pytest.approx(np.abs(predicted - gold).mean())
    assert metrics["rmse"] == pytest.approx(np.sqrt(((predicted - gold) ** 2).mean()))
    assert regression_metrics(np.ones(4), np.arange(4.0))["pearson"] == 0.0  # constant: no nan


def test_loss_is_summed_mse_on_the_single_logit():
    task = get_task("regression")

    class Head(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": input_ids[:, :1].float()})()

    batch = {"input_ids": torch.tensor([[2, 0], [4, 0]]), "attention_mask": torch.ones(2, 2),
             "labels": torch.tensor([1.0, 1.0])}
    assert task.loss(Head(), batch).item() == pytest.approx((2 - 1) ** 2 + (4 - 1) ** 2)


def test_a_target_that_is_not_a_number_names_the_row(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("text\tscore\ngood film\t4.5\nbad film\thigh\n")
    with pytest.raises(DataError, match="'high' is not a number") as info:
        get_task("regression").read(path)
    assert "row 2" in str(info.value)


def test_round_trip(regressor, tmp_path):
    import lmforge
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lmforge.inference.predictor import Predictor

    manifest = json.loads((regressor / "manifest.json").read_text())
    assert manifest["task"] == "regression" and manifest["labels"] == ["score"]
    assert set(manifest["metrics"]["dev"]) >= {"spearman", "pearson", "mae", "rmse"}
    assert task_for_artifact(regressor).name == "regression"

    test = write_scores(tmp_path / "test.tsv", n=40, seed=3)
    metrics = lmforge.evaluate(regressor, test, tmp_path / "eval")
    assert metrics["examples"] == 40 and metrics["task"] == "regression"
    assert metrics["spearman"] > 0.2  # learnt something (the score is a word count); 3 tiny epochs
    assert {p.name for p in (tmp_path / "eval").iterdir()} >= {"metrics.json", "report.html", "scatter.png",
                                                               "predictions.jsonl"}

    texts = ["good great fine lovely superb good", "bad awful poor dull boring bad"]
    predicted = [p.score for p in Predictor.load(regressor).predict(texts)]
    assert predicted[0] > predicted[1]

    # plain transformers: problem_type regression, one logit = the prediction
    model = AutoModelForSequenceClassification.from_pretrained(regressor).eval()
    assert model.config.problem_type == "regression" and model.config.num_labels == 1
    tokenizer = AutoTokenizer.from_pretrained(regressor)
    with torch.no_grad():
        plain = model(**tokenizer(texts, return_tensors="pt", padding=True)).logits[:, 0].numpy()
    np.testing.assert_allclose(plain, predicted, atol=1e-5)

    n = lmforge.api.predict(regressor, input=test, output=tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert n == len(rows) == 40 and isinstance(rows[0]["score"], float)
    lmforge.api.predict(regressor, input=test, output=tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "row,text,score"


def test_serving_route(regressor):
    from fastapi.testclient import TestClient

    from lmforge.serving.app import create_app

    with TestClient(create_app(regressor)) as client:
        for _ in range(200):
            if client.get("/ready").status_code == 200:
                break
            import time
            time.sleep(0.05)
        response = client.post("/v1/score", json={"texts": ["good great film", "awful dull plot"]})
        assert response.status_code == 200, response.text
        scores = [r["score"] for r in response.json()["results"]]
        assert len(scores) == 2 and scores[0] > scores[1]
        assert client.post("/v1/score", json={"pairs": [["a", "b"]]}).status_code == 422
        assert client.post("/v1/classify", json={"texts": ["a"]}).status_code == 404  # no softmax over one score
        assert client.post("/v1/score", json={"texts": []}).status_code == 422
        assert "/v1/score" in client.get("/openapi.json").json()["paths"]


def test_onnx_export_parity(regressor, tmp_path):
    pytest.importorskip("onnxruntime")
    from transformers import AutoTokenizer

    from lmforge.compression.onnx_export import export_onnx, parity
    from lmforge.data.batching import pad_batch

    task = task_for_artifact(regressor)
    model = task.load_model(regressor).eval()
    ids, _ = task.encode(AutoTokenizer.from_pretrained(regressor), ["good film", "a dull and boring plot"], 32)
    batch = pad_batch(ids, 0)
    path = export_onnx(model, batch, tmp_path / "model.onnx", task.onnx_outputs())
    assert parity(model, path, batch) < 1e-4


def test_compress_to_onnx_and_cost(regressor, tmp_path):
    pytest.importorskip("onnxruntime")
    import lmforge

    from lmforge.inference.predictor import Predictor

    result = lmforge.api.compress(regressor, tmp_path / "onnx", to="onnx", quiet=True, speed_texts=16,
                                  timing_rounds=1)
    onnx, torch_model = Predictor.load(tmp_path / "onnx"), Predictor.load(regressor)
    texts = ["good great film", "awful dull plot"]
    np.testing.assert_allclose(onnx.logits(texts), torch_model.logits(texts), atol=1e-4)
    assert onnx.task.name == "regression" and result is not None
