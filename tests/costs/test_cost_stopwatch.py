"""The bar: a fine-tune's recorded training cost is within ±15% of an independent stopwatch × price."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lmforge.artifacts import read_manifest
from tests.conftest import write_sentiment_csv


def test_recorded_training_cost_matches_a_stopwatch(tmp_path, tiny_model):
    # long enough (~20 s) that what runs after the manifest (the TF-IDF baseline, interpreter exit: ~1.5 s)
    # stays inside the ±15% the issue allows, on a quiet machine as on a loaded one
    data = write_sentiment_csv(tmp_path / "train.csv", n=2000, seed=5)
    price = 0.4
    # MLflow logging happens after training (and after the manifest is written): it is bookkeeping, not
    # training, so the stopwatch times the fine-tune alone.
    env = {**os.environ, "LMFORGE_TRACKING": "off"}
    cmd = [sys.executable, "-m", "lmforge", "finetune", str(data), "--output", str(tmp_path / "run"),
           "--model", str(tiny_model), "--epochs", "15", "--patience", "0", "--batch-size", "8", "--max-length", "32", "--lr", "0.005",
           "--no-freeze-embeddings", "--price-per-hour", str(price), "--quiet"]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    stopwatch_s = time.perf_counter() - start
    m = read_manifest(tmp_path / "run")
    expected_usd = stopwatch_s / 3600 * price
    assert m["cost"]["usd"] == pytest.approx(expected_usd, rel=0.15), (m["wall_s"], m["startup_s"], stopwatch_s)
    assert m["startup_s"] > 0  # the interpreter and imports are paid for too
    print(f"stopwatch {stopwatch_s:.2f} s, recorded {m['wall_s']:.2f} s (start-up {m['startup_s']:.2f} s): "
          f"${m['cost']['usd']:.6f} vs ${expected_usd:.6f}")
