"""`lmforge run pipeline.yaml`: validated up front, fingerprint skipping, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from lmforge.errors import ConfigError
from lmforge.pipeline.config import load_pipeline
from lmforge.pipeline.runner import run_pipeline
from tests.conftest import write_sentiment_csv


def write_pipeline(path, **sections):
    path.write_text(yaml.safe_dump(sections, sort_keys=False))
    return path


def test_every_mistake_is_reported_at_once_before_any_work(tmp_path):
    train = write_sentiment_csv(tmp_path / "train.csv")
    bad = write_pipeline(tmp_path / "p.yaml", output="out", data={"train": "missing.csv", "dev": str(train)},
                         finetun={"epochs": 1},
                         finetune={"epochs": "three", "lr": 2.0, "epoch": 1, "method": "qlora"},
                         evaluate={}, cost={"requests_per_day": 0, "budget": 5})
    with pytest.raises(ConfigError) as e:
        run_pipeline(bad)
    problems = "\n".join(e.value.problems)
    for expected in ("finetun: unknown section", "data.train: file missing.csv does not exist",
                     "finetune.epochs: expected int | None, got 'three'", "finetune.epoch: unknown setting (did you mean 'epochs'?)",
                     "cost.budget: unknown setting", "evaluate: needs data.test", "finetune: lr must be between 0 and 1",
                     "cost: requests_per_day must be positive"):
        assert expected in problems, problems
    assert len(e.value.problems) >= 8
    assert not (tmp_path / "out").exists()  # nothing ran

    # values that only the stage's own validation catches are listed too (with the types fixed)
    bad = write_pipeline(tmp_path / "p2.yaml", output="out", data={"train": str(train)},
                         finetune={"epochs": 0, "lr": 2.0}, cost={"requests_per_day": 0})
    with pytest.raises(ConfigError) as e:
        load_pipeline(bad)
    text = "\n".join(e.value.problems)
    assert "epochs must be at least 1" in text and "lr must be between 0 and 1" in text
    assert "requests_per_day must be positive" in text


def test_rerun_skips_unchanged_stages_and_reruns_changed_ones(tmp_path, tiny_model, capsys):
    write_sentiment_csv(tmp_path / "train.csv", n=160, seed=11)
    test = write_sentiment_csv(tmp_path / "test.csv", n=60, seed=12)
    sections = dict(output="out", data={"train": "train.csv", "test": "test.csv"},
                    finetune={"model": str(tiny_model), "epochs": 2, "batch_size": 16, "lr": 0.005, "max_length": 32,
                              "freeze_embeddings": False},
                    evaluate={}, cost={"benchmark_seconds": 0.5, "requests_per_day": 1000})
    path = write_pipeline(tmp_path / "pipeline.yaml", **sections)
    first = run_pipeline(path, quiet=True)
    assert first["stages"] == {"finetune": "ran", "evaluate": "ran", "cost": "ran"}
    out = tmp_path / "out"
    assert (out / "model" / "model.safetensors").exists() and (out / "eval" / "report.html").exists()
    assert (out / "cost" / "report.html").exists()
    model_mtime = (out / "model" / "model.safetensors").stat().st_mtime_ns

    again = run_pipeline(path, quiet=True)
    assert again["stages"] == {"finetune": "skipped", "evaluate": "skipped", "cost": "skipped"}
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns == model_mtime

    sections["cost"]["requests_per_day"] = 5000  # only the last stage's settings change
    write_pipeline(path, **sections)
    assert run_pipeline(path, quiet=True)["stages"] == {"finetune": "skipped", "evaluate": "skipped", "cost": "ran"}
    assert json.loads((out / "cost" / "cost.json").read_text())["settings"]["requests_per_day"] == 5000

    test.write_text(test.read_text() + "a superb film,pos\n")  # the evaluated data changes: evaluate and cost rerun
    assert run_pipeline(path, quiet=True)["stages"] == {"finetune": "skipped", "evaluate": "ran", "cost": "ran"}


def test_a_killed_finetune_is_resumed_from_its_checkpoint(tmp_path, tiny_model):
    write_sentiment_csv(tmp_path / "train.csv", n=200, seed=13)
    path = write_pipeline(tmp_path / "pipeline.yaml", output="out", data={"train": "train.csv"},
                          finetune={"model": str(tiny_model), "epochs": 12, "batch_size": 16, "lr": 0.005,
                                    "max_length": 32, "freeze_embeddings": False, "checkpoint_every": 1,
                                    "patience": 0})
    env = {**os.environ, "LMFORGE_TRACKING": "off"}
    child = subprocess.Popen([sys.executable, "-m", "lmforge", "run", str(path), "--quiet"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = tmp_path / "out" / "model" / "checkpoints" / "latest"
    deadline = time.time() + 240
    while not latest.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert child.poll() is None, "the run finished before it could be interrupted"
    time.sleep(1.0)
    os.kill(child.pid, signal.SIGKILL)  # the child we started: no cleanup, as after a power cut
    child.wait()
    state = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    assert state["stages"]["finetune"]["status"] == "running"
    step_killed = json.loads((latest.parent / latest.read_text().strip() / "state.json").read_text())["step"]

    result = run_pipeline(path, quiet=True)
    assert result["stages"] == {"finetune": "resumed"}
    manifest = json.loads((tmp_path / "out" / "model" / "manifest.json").read_text())
    assert manifest["training"]["steps"] == 12 * 12  # 180 train rows / 16 = 12 steps per epoch, all done
    assert step_killed > 0
    assert run_pipeline(path, quiet=True)["stages"] == {"finetune": "skipped"}


def test_dry_run_validates_every_stage_and_lists_the_plan(tmp_path):
    pytest.importorskip("lmforge.compression.settings")
    pytest.importorskip("lmforge.data.prepare")
    train = write_sentiment_csv(tmp_path / "train.csv")
    write_sentiment_csv(tmp_path / "test.csv", n=40, seed=2)
    bad = write_pipeline(tmp_path / "bad.yaml", output="out", data={"train": "train.csv"},
                         prepare={"dedup": "fuzzy"}, compress={"to": "gguf"})
    with pytest.raises(ConfigError) as e:
        load_pipeline(bad)
    text = "\n".join(e.value.problems)
    assert "prepare" in text and "fuzzy" in text and "compress" in text and "gguf" in text
    good = write_pipeline(tmp_path / "good.yaml", output="out", data={"train": train.name, "test": "test.csv"},
                          prepare={"dedup": "exact"}, finetune={"epochs": 1}, evaluate={},
                          compress={"to": "onnx-int8"}, cost={})
    result = run_pipeline(good, dry_run=True, quiet=True)
    assert list(result["stages"]) == ["prepare", "finetune", "evaluate", "compress", "cost"]
    assert all(v == "would run (ran)" for v in result["stages"].values())
    assert not (tmp_path / "out").exists()
