"""`evaluate` and `predict` on a tiny fine-tuned model: files written, order kept, streaming, errors."""

from __future__ import annotations

import csv
import json

import pytest

import lmforge
from lmforge.errors import DataError
from tests.conftest import write_sentiment_csv


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory, tiny_encoder):
    root = tmp_path_factory.mktemp("clf")
    data = write_sentiment_csv(root / "train.csv", n=160, seed=3)
    return lmforge.finetune(data, root / "model", model=str(tiny_encoder), epochs=4, lr=5e-3, batch_size=16,
                            max_length=32, freeze_embeddings=False, quiet=True).output


def test_evaluate_writes_metrics_plots_predictions_and_report(tmp_path, tiny_classifier):
    data = write_sentiment_csv(tmp_path / "test.csv", n=90, seed=9)
    m = lmforge.evaluate(tiny_classifier, data, tmp_path / "eval")
    out = tmp_path / "eval"
    assert m["accuracy"] > 0.8 and m["examples"] == 90
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "per_class", "averages", "expected_calibration_error", "confidence_intervals",
                "confusion_matrix", "most_confident_errors"):
        assert key in saved
    assert set(saved["averages"]) == {"macro", "micro", "weighted"}
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["row"] for r in rows] == list(range(1, 91))
    assert {"text", "gold", "predicted", "probability"} <= rows[0].keys()
    for png in ("confusion_matrix.png", "reliability.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Per class" in html and "Most confident errors" in html


def test_evaluate_streams_in_chunks(tmp_path, tiny_classifier, monkeypatch):
    import lmforge.evaluation.evaluate as ev

    monkeypatch.setattr(ev, "CHUNK_ROWS", 7)  # many chunks: results must not depend on chunking
    data = write_sentiment_csv(tmp_path / "test.csv", n=50, seed=9)
    chunked = lmforge.evaluate(tiny_classifier, data, tmp_path / "a")
    monkeypatch.setattr(ev, "CHUNK_ROWS", 4096)
    whole = lmforge.evaluate(tiny_classifier, data, tmp_path / "b")
    assert chunked["accuracy"] == whole["accuracy"]
    assert (tmp_path / "a" / "predictions.jsonl").read_text() == (tmp_path / "b" / "predictions.jsonl").read_text()


def test_evaluate_rejects_a_label_the_model_does_not_know(tmp_path, tiny_classifier):
    path = tmp_path / "test.csv"
    path.write_text("text,label\ngood film,pos\nmeh,neutral\n")
    with pytest.raises(DataError, match=r"test.csv, row 2, column 'label': label 'neutral' is not one the model"):
        lmforge.evaluate(tiny_classifier, path, tmp_path / "eval")


def test_predict_texts_and_files_keep_input_order(tmp_path, tiny_classifier):
    texts = ["the film was superb", "awful plot", "a lovely scene indeed", "boring"]
    preds = lmforge.predict(tiny_classifier, texts)
    assert [p.label for p in preds] == ["pos", "neg", "pos", "neg"]
    assert all(abs(sum(p.scores.values()) - 1) < 1e-5 for p in preds)

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    assert lmforge.predict(tiny_classifier, input=src, output=tmp_path / "out.jsonl") == 4
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["text"] for r in rows] == texts and [r["label"] for r in rows] == [p.label for p in preds]

    lmforge.predict(tiny_classifier, input=src, output=tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["label"] for r in table] == [p.label for p in preds] and "p_pos" in table[0]


def test_predict_refuses_an_unknown_output_type(tmp_path, tiny_classifier):
    src = tmp_path / "in.txt"
    src.write_text("good\n")
    with pytest.raises(DataError, match="cannot write '.xml' files"):
        lmforge.predict(tiny_classifier, input=src, output=tmp_path / "out.xml")
