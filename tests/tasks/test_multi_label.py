"""The multi-label task: label lists in their three written forms (and GoEmotions' ids), the loss, threshold
tuning, metrics, and the round trip finetune → evaluate → predict → plain transformers → serve
(/v1/classify-multi-label, fuzzed) → ONNX, on the tiny BERT."""

from __future__ import annotations

import csv
import json
import random
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lmforge.errors import DataError
from lmforge.tasks import get_task, task_for_artifact
from lmforge.tasks.multi_label import best_threshold, decide, f1_scores, fit_decision, parse_label_cell, sigmoid

# each group of words stands for a label; a text holds words of one to three groups
GROUPS = {"praise": ["good", "great", "lovely", "superb"], "blame": ["bad", "awful", "dull", "boring"],
          "cinema": ["film", "movie", "scene"], "story": ["plot", "story", "actor"]}


def toy_rows(n: int, seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        labels = sorted(rng.sample(sorted(GROUPS), rng.choice([1, 1, 2, 3])))
        words = [rng.choice(GROUPS[g]) for g in labels for _ in range(2)] + rng.sample(["the", "was", "really", "a"], 2)
        rng.shuffle(words)
        rows.append((" ".join(words), labels))
    return rows


def write_csv(path: Path, rows, form: str = "comma") -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "labels"])
        for text, labels in rows:
            w.writerow([text, ",".join(labels) if form == "comma" else json.dumps(labels)])
    return path


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, tiny_model) -> Path:
    """A multi-label model trained on the toy groups, with its dev file."""
    import lmforge

    root = tmp_path_factory.mktemp("multi-label")
    lmforge.finetune(write_csv(root / "train.csv", toy_rows(240, 0)), root / "model",
                     dev=write_csv(root / "dev.csv", toy_rows(60, 1), form="json"), task="multi-label",
                     model=str(tiny_model), epochs=4, lr=3e-3, batch_size=16, max_length=32,
                     freeze_embeddings=False, quiet=True)
    return root / "model"


# --- reading ------------------------------------------------------------------------------------------------

def test_the_three_forms_read_alike(tmp_path):
    task = get_task("multi-label")
    rows = toy_rows(12, 5)
    comma = task.read(write_csv(tmp_path / "comma.csv", rows))
    json_cells = task.read(write_csv(tmp_path / "json.csv", rows, form="json"))
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps({"text": t, "labels": labels}) + "\n" for t, labels in rows))
    lists = task.read(jsonl)
    assert comma.label_sets == json_cells.label_sets == lists.label_sets == [labels for _, labels in rows]
    assert comma.texts == lists.texts and comma.label_column == "labels"
    assert task.label_space(comma) == ["blame", "cinema", "praise", "story"]
    targets = task.targets(comma, task.label_space(comma))
    assert targets.shape == (12, 4) and targets.sum() == sum(len(x) for _, x in rows)


def test_parse_label_cell():
    assert parse_label_cell("joy, love") == ["joy", "love"]
    assert parse_label_cell('["a,b", "c"]') == ["a,b", "c"]
    assert parse_label_cell("[]") == [] and parse_label_cell([3, "x", 3]) == ["3", "x"]
    for bad in ("", "a,,b", "[1, 2", '[{"a": 1}]', "[[1]]", "[true]", "[1.5]"):
        with pytest.raises(ValueError):
            parse_label_cell(bad)


def test_goemotions_layout_ids_and_quotes(tmp_path):
    """Headerless text<TAB>ids<TAB>comment id, ids into labels.txt, CSV-style quoted texts."""
    (tmp_path / "labels.txt").write_text("admiration\namusement\nanger\nneutral\n")
    path = tmp_path / "train.tsv"
    path.write_text('My favourite food is anything I did not cook.\t3\teebbqej\n'
                    '"Three words, no subtlety. ""Dude. Stop."" "\t0,2\teetq9g0\n'
                    'WHY THE FUCK IS BAYLESS ISOING\t2\teezlygj\n')
    task = get_task("multi-label")
    data = task.read(path)
    assert data.text_column == "column_1" and data.label_column == "column_2"
    assert data.label_sets == [["neutral"], ["admiration", "anger"], ["anger"]]
    assert data.texts[1] == 'Three words, no subtlety. "Dude. Stop." '
    assert task.label_space(data) == ["admiration", "amusement", "anger", "neutral"]  # labels.txt, all of it

    path.write_text("a text that is long enough\t3\tx1\nanother text, also long\t7\tx2\n")
    with pytest.raises(DataError, match="label id 7 is not in labels.txt") as info:
        task.read(path)
    assert "row 2" in str(info.value) and "train.tsv" in str(info.value)


def test_bad_cells_and_unknown_labels_name_the_file_and_row(tmp_path):
    task = get_task("multi-label")
    bad = tmp_path / "bad.csv"
    bad.write_text('text,labels\ngood film,praise\nbad plot,"[""blame"", "\n')
    with pytest.raises(DataError, match="not a JSON array") as info:
        task.read(bad)
    assert "row 2" in str(info.value) and "bad.csv" in str(info.value)

    train = task.read(write_csv(tmp_path / "train.csv", toy_rows(8, 0)))
    dev = tmp_path / "dev.csv"
    dev.write_text("text,labels\ngood film,praise\nbad plot,\"blame,sarcasm\"\n")
    with pytest.raises(DataError, match="label 'sarcasm' is not one the model knows") as info:
        task.targets(task.read(dev), task.label_space(train))
    assert "row 2" in str(info.value) and "dev.csv" in str(info.value)


# --- loss, thresholds, metrics ------------------------------------------------------------------------------

def test_loss_is_bce_summed_over_labels_and_examples():
    task = get_task("multi-label")

    class Head(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": input_ids.float()})()

    batch = {"input_ids": torch.tensor([[2, -1], [0, 3]]), "attention_mask": torch.ones(2, 2),
             "labels": torch.tensor([[1.0, 0.0], [0.0, 1.0]])}
    expected = sum(float(np.log1p(np.exp(-z))) for z in (2, 1, 0, 3))  # -log sigmoid(±logit), four terms
    assert task.loss(Head(), batch).item() == pytest.approx(expected, rel=1e-5)


def test_best_threshold_maximises_f1():
    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    gold = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    t = best_threshold(scores, gold)
    assert 0.3 < t < 0.4  # taking the top four: tp 3, fp 1 → F1 6/7, better than any other cut
    assert best_threshold(scores, np.zeros(6, dtype=bool)) is None
    brute = max(((2 * (gold & (scores >= c)).sum() / ((scores >= c).sum() + gold.sum()), c) for c in scores))
    chosen = scores >= t
    assert 2 * (gold & chosen).sum() / (chosen.sum() + gold.sum()) == pytest.approx(brute[0])
    assert best_threshold(np.array([0.5, 0.5, 0.2]), np.array([1, 0, 0], dtype=bool)) < 0.5 + 1e-9  # ties kept


def test_fit_decision_falls_back_and_chooses_the_none_pass_rule():
    rng = np.random.default_rng(0)
    gold = np.zeros((200, 3), dtype=bool)
    gold[np.arange(200), rng.integers(0, 2, 200)] = True  # one label each, the third never
    probs = np.clip(gold * 0.35 + rng.uniform(0, 0.4, gold.shape), 0, 1)
    decision = fit_decision(probs, gold, ["a", "b", "never"])
    assert decision["thresholds"]["never"] == 0.5 and decision["untuned"] == ["never"]
    assert decision["when_none_pass"] in ("top-label", "none")
    assert decision["dev"]["macro_f1"] >= decision["dev"]["macro_f1_at_0.5"]
    thresholds = np.array(list(decision["thresholds"].values()))
    top = decide(probs, np.ones(3), "top-label")  # nothing passes 1.0: the top label is answered
    assert (top.sum(1) == 1).all() and not decide(probs, np.ones(3), "none").any()
    assert decide(probs, thresholds, "none").sum() > 0


def test_metrics_match_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    gold, pred = rng.random((50, 4)) < 0.3, rng.random((50, 4)) < 0.3
    scores = f1_scores(gold, pred)
    for avg in ("micro", "macro", "samples"):
        assert scores[f"{avg}_f1"] == pytest.approx(f1_score(gold, pred, average=avg, zero_division=0))


def test_evaluation_accumulator():
    task = get_task("multi-label").for_artifact({"decision": {"thresholds": {"a": 0.5, "b": 0.9},
                                                              "when_none_pass": "top-label"}})
    scoring = task.evaluation(["a", "b"])
    chunk = [(1, "x", ["a"]), (2, "y", ["b"]), (3, "z", ["a", "b"])]
    logits = np.log(np.array([[0.7, 0.8], [0.2, 0.6], [0.95, 0.95]]) / (1 - np.array([[0.7, 0.8], [0.2, 0.6],
                                                                                      [0.95, 0.95]])))
    records = scoring.add(chunk, logits)
    assert [r["predicted"] for r in records] == [["a"], ["b"], ["a", "b"]]  # row 2: none passes → top label
    metrics = scoring.finish()
    assert metrics["macro_f1"] == 1.0 and metrics["subset_accuracy"] == 1.0
    assert metrics["decision"]["rows_with_no_label_passing"] == 1
    assert metrics["per_label"]["b"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2, "predicted": 2,
                                         "threshold": 0.9}
    assert metrics["at_threshold_0.5"]["macro_f1"] < 1.0  # 0.5 would have added 'b' to row 1
    with pytest.raises(DataError, match="label 'c'"):
        scoring.check([(4, "w", ["c"])], Path("test.csv"), "labels")


# --- the round trip on a tiny model --------------------------------------------------------------------------

TEXTS = ["good great film movie", "awful dull plot story", "lovely superb", "the actor was boring"]


def test_manifest_records_the_tuned_decision(tagged):
    manifest = json.loads((tagged / "manifest.json").read_text())
    assert manifest["task"] == "multi-label" and manifest["labels"] == ["blame", "cinema", "praise", "story"]
    assert set(manifest["metrics"]["dev"]) >= {"macro_f1", "micro_f1", "samples_f1", "macro_f1_at_0.5", "dev_loss"}
    decision = manifest["decision"]
    assert list(decision["thresholds"]) == manifest["labels"] and decision["when_none_pass"] in ("top-label", "none")
    assert manifest["metrics"]["dev"]["macro_f1"] > 0.5  # learnt the word groups (4 tiny epochs)
    assert "macro_f1" in manifest["baseline"] and manifest["verdict"]["winner"] in ("baseline", "fine-tuned")
    recipe = manifest["adaptive"]  # the task's recipe for what the user left unset, with its reasons
    assert recipe["lr"] == {"value": 3e-3, "reason": "given by the user"}
    assert recipe["head_lr"]["value"] == 3e-3 and recipe["freeze_layers"]["value"] == 0
    assert "multi-label" in recipe["head_lr"]["reason"]
    assert task_for_artifact(tagged).decision == decision


def test_plain_transformers_reloads_it_and_predicts_the_same(tagged):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lmforge.inference.predictor import Predictor

    model = AutoModelForSequenceClassification.from_pretrained(tagged).eval()
    assert model.config.problem_type == "multi_label_classification" and model.config.num_labels == 4
    tokenizer = AutoTokenizer.from_pretrained(tagged)
    with torch.no_grad():
        plain = model(**tokenizer(TEXTS, return_tensors="pt", padding=True)).logits.numpy()
    predictor = Predictor.load(tagged)
    np.testing.assert_allclose(predictor.logits(TEXTS), plain, atol=1e-5)
    predictions = predictor.predict(TEXTS)
    decision = json.loads((tagged / "manifest.json").read_text())["decision"]
    chosen = decide(sigmoid(plain), np.array(list(decision["thresholds"].values())), decision["when_none_pass"])
    labels = [model.config.id2label[j] for j in range(4)]
    assert [set(p.labels) for p in predictions] == [{labels[j] for j in np.flatnonzero(c)} for c in chosen]
    assert all(list(p.scores) == labels for p in predictions)
    assert {"praise", "cinema"} <= set(predictions[0].labels)  # the plain case is learnt


def test_evaluate_and_predict_files(tagged, tmp_path):
    import lmforge

    test = write_csv(tmp_path / "test.csv", toy_rows(40, 3))
    metrics = lmforge.evaluate(tagged, test, tmp_path / "eval")
    assert metrics["task"] == "multi-label" and metrics["examples"] == 40 and metrics["decision"]["tuned"]
    assert set(metrics["per_label"]) == {"blame", "cinema", "praise", "story"}
    lo, hi = metrics["confidence_intervals"]["macro_f1"]
    assert lo <= metrics["macro_f1"] <= hi
    assert {p.name for p in (tmp_path / "eval").iterdir()} >= {"metrics.json", "report.html", "per_label_f1.png",
                                                               "predictions.jsonl"}

    n = lmforge.api.predict(tagged, input=test, output=tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert n == len(rows) == 40 and isinstance(rows[0]["labels"], list) and len(rows[0]["scores"]) == 4
    lmforge.api.predict(tagged, input=test, output=tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "row,text,labels,p_blame,p_cinema,p_praise,p_story"
    again = get_task("multi-label").read(tmp_path / "out.csv", text_column="text", label_column="labels")
    assert again.label_sets == [r["labels"] for r in rows]  # the CSV cells read back as the predicted lists


def test_cli_evaluate_prints_the_task_scores(tagged, tmp_path, capsys):
    from lmforge.cli import main

    main(["evaluate", str(tagged), str(write_csv(tmp_path / "test.csv", toy_rows(20, 4))), "--output",
          str(tmp_path / "eval")])
    out = capsys.readouterr().out
    assert "macro_f1" in out and "on 20 examples" in out


def wait_ready(client):
    for _ in range(400):
        if client.get("/ready").status_code == 200:
            return
        time.sleep(0.025)


def test_serving_route(tagged):
    from fastapi.testclient import TestClient

    from lmforge.serving.app import create_app

    with TestClient(create_app(tagged)) as client:
        wait_ready(client)
        response = client.post("/v1/classify-multi-label", json={"texts": TEXTS})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert len(results) == 4 and all(set(r) == {"labels", "scores"} and len(r["scores"]) == 4 for r in results)
        assert {"praise", "cinema"} <= set(results[0]["labels"])
        assert client.post("/v1/classify-multi-label", json={"pairs": [["a", "b"]]}).status_code == 422
        assert client.post("/v1/classify-multi-label", json={"texts": []}).status_code == 422
        paths = client.get("/openapi.json").json()["paths"]
        assert "/v1/classify-multi-label" in paths and "/v1/classify" not in paths  # no softmax route
        assert client.post("/v1/classify", json={"texts": TEXTS}).status_code == 404


def test_serving_route_fuzz(tagged):
    """The route under schemathesis, as tests/serving/test_fuzz.py drives the classifier's routes."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.python import asgi

    from lmforge.inference.predictor import Predictor
    from lmforge.serving.app import create_app
    from lmforge.serving.settings import ServeConfig

    # max_texts past what the generator sends: a 413 for too many texts is not what this test is about
    app = create_app(tagged, ServeConfig(max_texts=10_000, max_chars=100_000), predictor=Predictor.load(tagged))
    with asgi.get_client(app) as client:
        wait_ready(client)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = next(op.ok() for op in schema.get_all_operations() if op.ok().path == "/v1/classify-multi-label")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        statuses = set()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call()
            assert response.status_code < 500, response.text
            statuses.add(response.status_code)
            if response.status_code == 200:
                assert all(set(r) == {"labels", "scores"} for r in response.json()["results"])

        run()
        assert statuses and (mode == GenerationMode.POSITIVE or all(400 <= s < 500 for s in statuses))


def test_compress_to_onnx_keeps_the_decision(tagged, tmp_path):
    pytest.importorskip("onnxruntime")
    import lmforge

    from lmforge.inference.predictor import Predictor

    lmforge.api.compress(tagged, tmp_path / "onnx", to="onnx", quiet=True, speed_texts=16, timing_rounds=1,
                         force=True)
    onnx, torch_model = Predictor.load(tmp_path / "onnx"), Predictor.load(tagged)
    np.testing.assert_allclose(onnx.logits(TEXTS), torch_model.logits(TEXTS), atol=1e-4)
    assert onnx.task.name == "multi-label" and onnx.task.decision == torch_model.task.decision
    assert [p.labels for p in onnx.predict(TEXTS)] == [p.labels for p in torch_model.predict(TEXTS)]
