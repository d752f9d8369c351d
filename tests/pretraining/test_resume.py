"""A pretraining process killed with SIGKILL resumes to the same weights as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from safetensors.torch import load_file

from lmforge.pretraining.tokenizer_training import train_tokenizer
from lmforge.training.checkpoint import latest_checkpoint
from tests.conftest import REPO
from tests.pretraining.conftest import TINY_MODEL

SETTINGS = ["--objective", "mlm", "--batch-size", "8",
            "--grad-accumulation", "2", "--max-steps", "80", "--eval-every", "25", "--eval-batches", "2",
            "--checkpoint-every", "5", "--lr", "2e-3", *TINY_MODEL]


def pretrain_cmd(corpus, out, tokenizer, *extra):
    return [sys.executable, "-m", "lmforge", "pretrain", str(corpus), "--output", str(out), "--tokenizer",
            str(tokenizer), *SETTINGS, *extra]


def test_killed_pretraining_resumes_to_the_same_weights(tmp_path, text_corpus):
    # mlm: dropout, random masks and accumulation all have to line up after the resume
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    # one tokenizer for both runs: WordPiece training breaks frequency ties differently in each process
    # (a run trained on the fly keeps its own in OUTPUT/data/tokenizer, so its resume reuses it)
    tokenizer = train_tokenizer([text_corpus], tmp_path / "tok", kind="wordpiece", vocab_size=120)["path"]
    reference = tmp_path / "reference"
    subprocess.run(pretrain_cmd(text_corpus, reference, tokenizer), check=True, env=env, cwd=REPO)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(pretrain_cmd(text_corpus, killed, tokenizer), env=env, cwd=REPO)
    deadline = time.time() + 300
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
    assert 10 <= interrupted_at < 80

    refused = subprocess.run(pretrain_cmd(text_corpus, killed, tokenizer), capture_output=True, text=True, env=env,
                             cwd=REPO)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr
    subprocess.run(pretrain_cmd(text_corpus, killed, tokenizer, "--resume"), check=True, env=env, cwd=REPO)
    a, b = load_file(reference / "model.safetensors"), load_file(killed / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].allclose(b[name], atol=1e-6), name
