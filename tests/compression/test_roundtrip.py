"""Compressed artifacts go through predict, evaluate, serve and compare like any other model directory."""

from __future__ import annotations

import json
import time

import pytest

import lmforge
from lmforge.cli import main
from lmforge.compression.comparison import compare, format_table


@pytest.mark.parametrize("method", ["onnx-int8", "torch-int8"])
def test_predict_evaluate_and_serve_accept_a_compressed_artifact(method, compressed, toy_eval, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from lmforge.serving.app import create_app

    out = compressed(method)
    predictions = lmforge.predict(out, ["a great film", "the plot was awful"])
    assert [p.label for p in predictions] == ["pos", "neg"]

    metrics = lmforge.evaluate(out, toy_eval, tmp_path / "eval")
    assert metrics["backend"] == ("onnx" if method == "onnx-int8" else "torch-int8") and metrics["accuracy"] >= 0.8

    assert main(["predict", str(out), "superb scene", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "pos"

    with TestClient(create_app(out)) as client:
        for _ in range(200):  # the model loads in the background after start-up
            if client.get("/ready").status_code == 200:
                break
            time.sleep(0.05)
        response = client.post("/v1/classify", json={"texts": ["a great film", "awful"]})
    assert response.status_code == 200, response.text
    assert [r["label"] for r in response.json()["results"]] == ["pos", "neg"]


def test_compare_measures_every_artifact_in_one_run_and_plots_accuracy_against_speed(parent_model, compressed,
                                                                                     toy_eval, tmp_path, capsys):
    dirs = [parent_model, compressed("onnx"), compressed("onnx-int8")]
    rows = compare(dirs, toy_eval, plot=tmp_path / "plot.png", speed_texts=32, quiet=True)
    assert [r["artifact"] for r in rows] == ["model", "onnx", "onnx-int8"]
    assert [r["method"] for r in rows] == ["finetune", "onnx", "onnx-int8"]
    assert rows[0]["speedup_b32"] == 1.0 and all(r["sentences_per_s_b32"] > 0 for r in rows)
    assert rows[1]["accuracy"] == rows[0]["accuracy"]  # fp32 ONNX decides exactly as torch
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = format_table(rows)
    assert table.splitlines()[0].split()[:3] == ["artifact", "method", "backend"] and len(table.splitlines()) == 5

    assert main(["compare", *map(str, dirs[1:]), "--recorded", "--plot", str(tmp_path / "rec.png")]) == 0
    printed = capsys.readouterr().out
    assert "onnx-int8" in printed and (tmp_path / "rec.png").exists()
    assert main(["compare", str(parent_model), "--recorded"]) == 2  # a finetune output records no measurements
