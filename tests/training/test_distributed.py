"""Data parallelism through an existing engine: two CPU processes (gloo, launched by torchrun) give the
same model as one process with the same global batch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from tests.conftest import REPO, write_sentiment_csv

ARGS = ["--epochs", "2", "--batch-size", "16", "--max-length", "32", "--lr", "3e-3", "--no-freeze-embeddings",
        "--patience", "0", "--quiet"]


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed beside this python")
def test_two_processes_match_one(tmp_path, tiny_model_no_dropout):
    data = write_sentiment_csv(tmp_path / "train.csv", n=150, seed=4)  # 135 train rows: an uneven last batch
    common = [str(data), "--model", str(tiny_model_no_dropout), *ARGS]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single, double = tmp_path / "one", tmp_path / "two"
    subprocess.run([sys.executable, "-m", "lmforge", "finetune", *common, "--output", str(single), "--threads", "1"],
                   check=True, env=env, cwd=REPO)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "lmforge", "finetune", *common,
                    "--output", str(double), "--threads", "1"], check=True, env=env, cwd=REPO, timeout=300)
    a, b = load_file(single / "model.safetensors"), load_file(double / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].allclose(b[name], atol=1e-5, rtol=1e-4), name
    import json

    manifest = json.loads((double / "manifest.json").read_text())
    assert manifest["training"]["processes"] == 2
    assert manifest["training"]["samples"] == json.loads((single / "manifest.json").read_text())["training"]["samples"]
