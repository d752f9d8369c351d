"""--resume reuses the interrupted run's settings; only a given setting that changes the result is refused."""

from __future__ import annotations

import json

import pytest

from lmforge.artifacts import write_manifest
from lmforge.cli import main
from lmforge.config import FinetuneConfig
from lmforge.errors import ConfigError
from lmforge.training.finetune import resume_config
from tests.conftest import write_sentiment_csv


def interrupted(out, **settings) -> dict:
    saved = FinetuneConfig(**settings).resolved().to_dict()
    (out / "checkpoints").mkdir(parents=True)
    write_manifest(out / "checkpoints", {"config": saved})
    return saved


def test_resume_config_reuses_saved_settings_and_takes_only_free_ones(tmp_path):
    saved = interrupted(tmp_path, epochs=5, lr=1e-3, checkpoint_every=50, max_length=64)
    cfg = FinetuneConfig(checkpoint_every=7, threads=1).resolved()  # epochs, lr, max_length not given
    merged = resume_config(tmp_path, cfg, given={"checkpoint_every", "threads"})
    assert (merged.epochs, merged.lr, merged.max_length) == (5, 1e-3, 64)
    assert (merged.checkpoint_every, merged.threads) == (7, 1)
    # the same values given again are no conflict
    same = FinetuneConfig(**{**saved, "checkpoint_every": 9}).resolved()
    assert resume_config(tmp_path, same, given={"epochs", "lr", "checkpoint_every"}).checkpoint_every == 9
    with pytest.raises(ConfigError) as e:
        resume_config(tmp_path, FinetuneConfig(epochs=3, seed=1).resolved(), given={"epochs", "seed", "threads"})
    assert "epochs 5 → 3" in str(e.value) and "seed 0 → 1" in str(e.value) and "threads" not in str(e.value)


def test_cli_resume_without_repeating_flags_trains_with_the_interrupted_runs_settings(tmp_path, tiny_model,
                                                                                      monkeypatch, capsys):
    monkeypatch.setenv("LMFORGE_TRACKING", "off")
    data = write_sentiment_csv(tmp_path / "train.csv", n=40)
    out = tmp_path / "run"
    interrupted(out, model=str(tiny_model), epochs=1, batch_size=8, max_length=24, checkpoint_every=50,
                freeze_embeddings=False)
    # nothing but what may change: a new --checkpoint-every, --threads and --quiet
    assert main(["finetune", str(data), "--output", str(out), "--resume", "--checkpoint-every", "3",
                 "--threads", "1", "--quiet"]) == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["model"] == str(tiny_model) and config["epochs"] == 1 and config["max_length"] == 24
    assert config["batch_size"] == 8 and config["freeze_embeddings"] is False and config["checkpoint_every"] == 3
    capsys.readouterr()


def test_cli_resume_with_a_setting_that_changes_the_result_is_refused(tmp_path, tiny_model, capsys):
    data = write_sentiment_csv(tmp_path / "train.csv", n=40)
    out = tmp_path / "run"
    interrupted(out, model=str(tiny_model), epochs=1, max_length=24)
    assert main(["finetune", str(data), "--output", str(out), "--resume", "--max-length", "32",
                 "--no-freeze-embeddings"]) == 2
    err = capsys.readouterr().err
    assert "max_length 24 → 32" in err and "freeze_embeddings True → False" in err and "--overwrite" in err
