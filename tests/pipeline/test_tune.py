"""`lmforge tune`: Optuna over method / lr / batch size / epochs, accuracy per dollar, trials tracked."""

from __future__ import annotations

import json

import pytest

from lmforge.artifacts import read_manifest
from lmforge.errors import ConfigError
from lmforge.pipeline.tune import TuneSettings, checkpoint_history, objective_value, tune
from lmforge.tracking import tracking_uri
from tests.conftest import write_sentiment_csv


def test_settings_errors_come_together():
    with pytest.raises(ConfigError) as e:
        TuneSettings(trials=0, objective="speed", methods="full,qlora", batch_sizes="a", min_epochs=3,
                     max_epochs=1).validate()
    assert len(e.value.problems) == 5


def test_tune_finds_a_best_trial_by_accuracy_per_dollar_and_tracks_trials(tmp_path, tiny_model):
    train = write_sentiment_csv(tmp_path / "train.csv", n=160, seed=21)
    settings = TuneSettings(trials=3, objective="accuracy_per_dollar", methods="full,head", batch_sizes="16,32",
                            min_epochs=1, max_epochs=2, model=str(tiny_model), max_length=32, price_per_hour=0.5,
                            prune_after=2, seed=1)
    result = tune(train, tmp_path / "tune", settings, quiet=True)
    assert len(result["trials"]) == 3
    complete = [t for t in result["trials"] if t["state"] == "COMPLETE"]
    assert complete
    for t in complete:  # the objective recomputed from each trial's own manifest
        m = read_manifest(t["output"])
        assert t["accuracy"] == m["metrics"]["dev"]["accuracy"] and t["cost_usd"] == m["cost"]["usd"]
        assert t["value"] == pytest.approx(objective_value(t["accuracy"], t["cost_usd"], "accuracy_per_dollar"))
        assert t["params"]["method"] in ("full", "head") and t["params"]["batch_size"] in (16, 32)
    assert result["best"]["value"] == max(t["value"] for t in complete)
    saved = json.loads((tmp_path / "tune" / "tune.json").read_text())
    assert saved["best"]["number"] == result["best"]["number"]
    assert (tmp_path / "tune" / "trials.png").stat().st_size > 5000

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri())
    exp = client.get_experiment_by_name("lmforge")
    study = str((tmp_path / "tune").resolve())
    trial_runs = client.search_runs([exp.experiment_id], f"tags.`lmforge.tune.study` = '{study}'")
    assert len(trial_runs) == len(complete)  # each finished trial is a tracked fine-tune
    (summary,) = client.search_runs([exp.experiment_id], f"tags.`lmforge.output` = '{study}' and "
                                                         "tags.`lmforge.stage` = 'tune'")
    assert summary.data.metrics["best_value"] == pytest.approx(result["best"]["value"])

    more = tune(train, tmp_path / "tune", TuneSettings(**{**settings.__dict__, "trials": 1}), quiet=True)
    assert len(more["trials"]) == 4  # the study in tune/optuna.db continues


def test_history_is_read_from_a_running_finetunes_checkpoint(tmp_path):
    assert checkpoint_history(tmp_path) == []
    step = tmp_path / "checkpoints" / "step-0000004"
    step.mkdir(parents=True)
    (step / "state.json").write_text(json.dumps({"history": [{"step": 4, "accuracy": 0.75}]}))
    (tmp_path / "checkpoints" / "latest").write_text("step-0000004\n")
    assert checkpoint_history(tmp_path) == [{"step": 4, "accuracy": 0.75}]
