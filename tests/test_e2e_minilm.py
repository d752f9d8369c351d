"""End to end on the real bundled all-MiniLM-L6-v2 and real SST-2 rows, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tests.conftest import REPO, shared_data

pytestmark = pytest.mark.e2e


def lmforge_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "lmforge", *map(str, args)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def sst2_small(tmp_path_factory):
    root = tmp_path_factory.mktemp("sst2")
    lines = shared_data("sst2", "train.tsv").read_text().splitlines(keepends=True)
    (root / "train.tsv").write_text("".join(lines[:1001]))
    test = shared_data("sst2", "test.tsv").read_text().splitlines(keepends=True)
    (root / "test.tsv").write_text("".join(test[:201]))
    return root


def test_finetune_evaluate_predict_on_minilm(tmp_path, sst2_small):
    out = tmp_path / "model"
    printed = lmforge_cli("finetune", sst2_small / "train.tsv", "--output", out, "--epochs", "2", "--lr", "1e-4", "--quiet")
    assert "samples/s" in printed and "padding" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_model"]["name"] == "model" and manifest["inputs"]["train"]["rows"] == 900
    assert manifest["training"]["padding_fraction"] < 0.15

    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "0", 1: "1"}

    printed = lmforge_cli("evaluate", out, sst2_small / "test.tsv", "--output", tmp_path / "eval", "--threads", "1")
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["examples"] == 200 and metrics["accuracy"] > 0.65  # 900 rows, two epochs (75% here): well above chance
    assert "report.html" in printed

    printed = lmforge_cli("predict", out, "a gorgeous, moving film", "a dull waste of two hours", "--json")
    labels = [json.loads(line)["label"] for line in printed.splitlines()]
    assert labels == ["1", "0"]


def test_lora_on_minilm_reloads_with_peft_exactly(tmp_path, sst2_small):
    from peft import PeftModel

    out = tmp_path / "lora"
    lmforge_cli("finetune", sst2_small / "train.tsv", "--output", out, "--epochs", "1", "--method", "lora", "--quiet")
    tok = AutoTokenizer.from_pretrained(out)
    batch = tok(["a gorgeous, moving film", "a dull waste of two hours", "it is a film"], return_tensors="pt",
                padding=True)
    merged = AutoModelForSequenceClassification.from_pretrained(out).eval()
    manifest = json.loads((out / "manifest.json").read_text())
    base = AutoModelForSequenceClassification.from_pretrained(manifest["base_model"]["path"], num_labels=2)
    with_adapter = PeftModel.from_pretrained(base, out / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(with_adapter(**batch).logits, merged(**batch).logits, atol=1e-4, rtol=1e-4)
