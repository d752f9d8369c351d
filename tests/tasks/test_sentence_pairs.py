"""Sentence-pair tasks (cross-encoders): column detection, pair encoding, tied segment embeddings, and the
round trip finetune → evaluate → predict → plain transformers → serve for pair classification and regression."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from lmforge.errors import DataError
from lmforge.tasks import get_task, task_for_artifact
from tests.tasks.test_regression import NEGATIVE, POSITIVE, write_scores


def write_paraphrases(path: Path, n: int = 120, seed: int = 0, header: bool = True) -> Path:
    """Label 1 when both texts lean the same way (positive or negative), else 0; headerless like LCQMC."""
    rng = random.Random(seed)
    lines = ["question1\tquestion2\tlabel"] if header else []
    for _ in range(n):
        a, b = rng.choice([POSITIVE, NEGATIVE]), rng.choice([POSITIVE, NEGATIVE])
        lines.append(f"{' '.join(rng.choices(a, k=3))}\t{' '.join(rng.choices(b, k=3))}\t{int(a is b)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def pair_models(tmp_path_factory, tiny_model) -> dict[str, Path]:
    import lmforge

    root = tmp_path_factory.mktemp("pairs")
    settings = dict(model=str(tiny_model), epochs=3, lr=1e-3, quiet=True, max_length=32)
    lmforge.finetune(write_paraphrases(root / "train.tsv"), root / "cls", task="pair-classification", **settings)
    lmforge.finetune(write_scores(root / "scores.tsv", pairs=True), root / "reg", task="pair-regression", **settings)
    return {"pair-classification": root / "cls", "pair-regression": root / "reg"}


def test_columns_are_detected_or_named(tmp_path):
    task = get_task("pair-classification")
    data = task.read(write_paraphrases(tmp_path / "q.tsv", n=10))
    assert data.text_column == "question1,question2" and data.label_column == "label"
    assert isinstance(data.texts[0], tuple) and len(data.texts[0]) == 2
    # headerless, and one column holding tabs (LCQMC's .txt), with a stray BOM
    txt = tmp_path / "lcqmc.txt"
    txt.write_text("\ufeff怎么开证明？\t证明怎么开？\t1\n谁知道她是谁\t这是什么歌\t0\n", encoding="utf-8")
    data = task.read(txt)
    assert data.texts[0] == ("怎么开证明？", "证明怎么开？") and data.labels == ["1", "0"]
    named = tmp_path / "named.csv"
    named.write_text("id,left,right,y\n1,good film,great film,1\n2,bad,good,0\n")
    assert task.read(named, text_column="left,right").texts[1] == ("bad", "good")
    with pytest.raises(DataError, match="names 1 column"):
        task.read(named, text_column="left")
    with pytest.raises(DataError, match="no pair of text columns"):
        task.read(write_scores(tmp_path / "single.tsv", n=5))


def test_encoding_is_a_cross_encoder_pair(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    ids, truncated = get_task("pair-regression").encode(tokenizer, [("good film", "bad plot")], 32)
    assert ids[0] == tokenizer("good film", "bad plot")["input_ids"] and truncated == 0
    with pytest.raises(DataError, match="reads \\(first, second\\) pairs"):
        get_task("pair-regression").encode(tokenizer, ["just one text"], 32)


@pytest.mark.parametrize("name", ["pair-classification", "pair-regression"])
def test_round_trip(pair_models, name, tmp_path):
    import lmforge
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lmforge.inference.predictor import Predictor

    model_dir = pair_models[name]
    assert task_for_artifact(model_dir).name == name
    test = (write_paraphrases(tmp_path / "t.tsv", n=40, seed=3) if name == "pair-classification"
            else write_scores(tmp_path / "t.tsv", n=40, seed=3, pairs=True))
    metrics = lmforge.evaluate(model_dir, test, tmp_path / "eval")
    assert metrics["examples"] == 40 and metrics["task"] == name
    assert ("accuracy" if name == "pair-classification" else "spearman") in metrics

    pairs = [("good great fine", "lovely superb good"), ("bad awful poor", "good great fine")]
    logits = Predictor.load(model_dir).logits(pairs)
    # plain transformers, token_type_ids included: the tied segment embeddings give the same outputs
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    encoded = tokenizer([a for a, _ in pairs], [b for _, b in pairs], return_tensors="pt", padding=True)
    # segment B as BERT tokenizers mark it (the tiny tokenizer's template leaves every id 0): 1 after the first [SEP]
    after_sep = (encoded["input_ids"] == tokenizer.sep_token_id).int().cumsum(dim=1) - (
        encoded["input_ids"] == tokenizer.sep_token_id).int()
    encoded["token_type_ids"] = (after_sep > 0).long() * encoded["attention_mask"]
    assert encoded["token_type_ids"].max() == 1
    with torch.no_grad():
        plain = model(**encoded).logits.numpy()
    np.testing.assert_allclose(plain, logits, atol=1e-5)
    expected = "regression" if name == "pair-regression" else "single_label_classification"
    assert model.config.problem_type == expected

    n = lmforge.api.predict(model_dir, input=test, output=tmp_path / "out.jsonl")
    row = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert n == 40 and len(row["text"]) == 2 and ("score" in row)


def test_serving_routes(pair_models):
    import time

    from fastapi.testclient import TestClient

    from lmforge.serving.app import create_app

    for name, route in (("pair-classification", "/v1/classify-pairs"), ("pair-regression", "/v1/score")):
        with TestClient(create_app(pair_models[name])) as client:
            for _ in range(200):
                if client.get("/ready").status_code == 200:
                    break
                time.sleep(0.05)
            response = client.post(route, json={"pairs": [["good film", "great film"], ["bad", "good"]]})
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert len(results) == 2 and ("label" in results[0] if name == "pair-classification" else
                                          isinstance(results[0]["score"], float))
            assert client.post(route, json={"texts": ["one text"]}).status_code == 422
            assert client.post(route, json={"pairs": [["only one"]]}).status_code == 422
            assert client.post(route, json={"pairs": [["x" * 10**6, "y"]]}).status_code == 422


def test_the_pair_baseline_reads_pair_files_like_its_model(pair_models, tmp_path):
    import lmforge
    from lmforge.inference.predictor import Predictor

    baseline = pair_models["pair-classification"] / "baseline"
    assert json.loads((baseline / "manifest.json").read_text())["task"] == "pair-classification"
    test = write_paraphrases(tmp_path / "test.tsv", n=40, seed=3, header=False)
    metrics = lmforge.api.evaluate(baseline, test, tmp_path / "eval")
    assert metrics["examples"] == 40 and 0 <= metrics["accuracy"] <= 1
    first = Predictor.load(baseline).predict([("good great fine", "great good nice")])[0]
    assert first.label in ("0", "1")


def test_similarity_pairs_train_in_both_orders_unless_the_columns_are_ordered(pair_models, tmp_path):
    manifest = json.loads((pair_models["pair-regression"] / "manifest.json").read_text())
    assert manifest["adaptive"]["both_orders"]["value"] is True
    rows = manifest["inputs"]["train"]["rows"]  # the rows as read (120 less the dev split): copies are not data
    assert rows < 120 and manifest["training"]["samples"] == 2 * rows * 3  # 3 epochs over both orders

    task = get_task("pair-regression")
    scores = task.read(write_scores(tmp_path / "s.tsv", n=4, pairs=True))
    both, decision = task.augment(scores)
    assert both.texts == scores.texts + [(b, a) for a, b in scores.texts] and both.values == scores.values * 2
    assert decision and task.augment(scores, "off") == (scores, None)
    ordered = tmp_path / "nli.tsv"
    ordered.write_text("premise\thypothesis\tscore\n" + "".join(f"a b{i}\tc d\t{i}\n" for i in range(4)))
    assert task.augment(task.read(ordered)) == (task.read(ordered), None)
