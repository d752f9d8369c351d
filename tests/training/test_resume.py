"""A run killed mid-training (SIGKILL to a real process) resumes to the same weights as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from lmforge.training.checkpoint import latest_checkpoint
from tests.conftest import REPO, write_sentiment_csv

SETTINGS = ["--epochs", "3", "--batch-size", "8", "--max-length", "32", "--lr", "3e-3", "--checkpoint-every", "5",
            "--no-freeze-embeddings", "--patience", "0", "--quiet"]


def finetune_cmd(data, out, model, *extra):
    return [sys.executable, "-m", "lmforge", "finetune", str(data), "--output", str(out), "--model", str(model),
            *SETTINGS, *extra]


def test_killed_run_resumes_to_the_same_weights(tmp_path, tiny_model):
    data = write_sentiment_csv(tmp_path / "train.csv", n=600, seed=2)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    reference = tmp_path / "reference"
    subprocess.run(finetune_cmd(data, reference, tiny_model), check=True, env=env, cwd=REPO)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(finetune_cmd(data, killed, tiny_model), env=env, cwd=REPO)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        ckpt = latest_checkpoint(killed / "checkpoints")
        if ckpt is not None and int(ckpt.name.split("-")[1]) >= 10:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "model.safetensors").exists()
    interrupted_at = int(latest_checkpoint(killed / "checkpoints").name.split("-")[1])
    assert 10 <= interrupted_at < 225

    # Without --resume the interrupted run is not silently overwritten.
    refused = subprocess.run(finetune_cmd(data, killed, tiny_model), capture_output=True, text=True, env=env, cwd=REPO)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr

    subprocess.run(finetune_cmd(data, killed, tiny_model, "--resume"), check=True, env=env, cwd=REPO)
    a, b = load_file(reference / "model.safetensors"), load_file(killed / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].allclose(b[name], atol=1e-6), name


def test_resume_with_other_settings_is_refused(tmp_path, tiny_model):
    data = write_sentiment_csv(tmp_path / "train.csv", n=40)
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    from lmforge.artifacts import write_manifest
    from lmforge.config import FinetuneConfig

    write_manifest(out / "checkpoints", {"config": FinetuneConfig(epochs=5, model=str(tiny_model)).resolved().to_dict()})
    proc = subprocess.run(finetune_cmd(data, out, tiny_model, "--resume"), capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "change the result" in proc.stderr and "epochs 5 → 3" in proc.stderr


@pytest.mark.parametrize("flag", [[], ["--overwrite"]])
def test_existing_model_is_not_overwritten_by_accident(tmp_path, tiny_model, flag):
    data = write_sentiment_csv(tmp_path / "train.csv", n=40)
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    proc = subprocess.run(finetune_cmd(data, out, tiny_model, *flag), capture_output=True, text=True, cwd=REPO)
    if flag:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 2 and "already holds a model" in proc.stderr
