"""Every stage's run lands in the MLflow store (read back through MLflow's own client, as `mlflow ui` does)."""

from __future__ import annotations

import os

import pytest

import lmforge
from lmforge.cli import main
from lmforge.tracking import log_stage, tracking_uri
from tests.conftest import write_sentiment_csv


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("tracked")
    data = write_sentiment_csv(root / "train.csv", n=160, seed=7)
    run = lmforge.finetune(data, root / "model", model=str(tiny_model), epochs=2, batch_size=16, lr=5e-3,
                           max_length=32, freeze_embeddings=False, quiet=True)
    metrics = lmforge.evaluate(root / "model", data, root / "eval")
    return root, run, metrics


def runs_for(output):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri())
    exp = client.get_experiment_by_name("lmforge")
    found = client.search_runs([exp.experiment_id], f"tags.`lmforge.output` = '{output.resolve()}'")
    return client, found


def test_finetune_run_is_in_the_store_with_params_metrics_history_manifest_and_a_model_reference(tracked):
    root, run, _ = tracked
    assert tracking_uri().startswith("sqlite:///") and os.path.exists(tracking_uri()[len("sqlite:///"):])
    client, found = runs_for(root / "model")
    (r,) = found
    assert r.info.status == "FINISHED" and r.data.tags["lmforge.stage"] == "finetune"
    assert r.data.params["config.epochs"] == "2" and r.data.params["config.method"] == "full"
    assert r.data.metrics["dev.accuracy"] == pytest.approx(run.metrics["accuracy"])
    assert r.data.metrics["cost_usd"] == pytest.approx(run.manifest["cost"]["usd"])
    assert r.data.metrics["baseline.accuracy"] == pytest.approx(run.manifest["baseline"]["accuracy"])
    history = client.get_metric_history(r.info.run_id, "step.accuracy")  # one point per dev evaluation
    assert [h.step for h in history] == [e["step"] for e in run.manifest["metrics"]["history"]]
    assert len(client.get_metric_history(r.info.run_id, "epoch")) == 2
    files = {f.path for f in client.list_artifacts(r.info.run_id)} | {
        f.path for f in client.list_artifacts(r.info.run_id, "model")}
    assert {"manifest.json", "model/config.json"} <= files and "model/model.safetensors" not in files
    assert r.data.tags["lmforge.model_dir"] == str((root / "model").resolve())  # referenced, not copied


def test_evaluate_run_carries_metrics_and_the_report(tracked):
    root, _, metrics = tracked
    client, (r,) = runs_for(root / "eval")
    assert r.data.tags["lmforge.stage"] == "evaluate"
    assert r.data.metrics["accuracy"] == pytest.approx(metrics["accuracy"])
    reports = {f.path for f in client.list_artifacts(r.info.run_id, "reports")}
    assert {"reports/report.html", "reports/metrics.json", "reports/confusion_matrix.png"} <= reports


def test_runs_command_lists_and_compares(tracked, capsys):
    root, run, _ = tracked
    assert main(["runs", "--stage", "finetune", "--json"]) == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    mine = [r for r in listed if r["output"] == str((root / "model").resolve())]
    assert mine and mine[0]["metrics"]["dev.accuracy"] == pytest.approx(run.metrics["accuracy"])
    assert main(["runs"]) == 0
    table = capsys.readouterr().out
    assert mine[0]["id"][:8] in table and "mlflow ui --backend-store-uri" in table
    other = next(r for r in json.loads(json.dumps(listed)) if r["id"] != mine[0]["id"]) if len(listed) > 1 else mine[0]
    assert main(["runs", "--compare", mine[0]["id"][:8], other["id"][:8]]) == 0
    assert "dev.accuracy" in capsys.readouterr().out


def test_default_store_is_in_lmforge_home_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LMFORGE_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("LMFORGE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert tracking_uri() == f"sqlite:///{tmp_path / 'user' / '.lmforge' / 'mlflow.db'}"
    monkeypatch.setenv("LMFORGE_HOME", str(tmp_path / "elsewhere"))
    assert tracking_uri() == f"sqlite:///{tmp_path / 'elsewhere' / 'mlflow.db'}"


def disk_use(root, exclude=()):
    files = [p for p in root.rglob("*") if p.is_file() and not any(p.is_relative_to(e) for e in exclude)]
    return files, sum(p.stat().st_size for p in files)


def test_a_finetune_leaves_only_a_small_store_outside_its_output(tmp_path, monkeypatch, tiny_model):
    from lmforge.tracking.store import lmforge_home

    monkeypatch.chdir(tmp_path)  # the user stands in a data folder: nothing may appear here
    monkeypatch.delenv("LMFORGE_TRACKING_URI")
    monkeypatch.setenv("LMFORGE_HOME", str(tmp_path / "home"))
    data = write_sentiment_csv(tmp_path / "train.csv", n=60)
    lmforge.finetune(data, tmp_path / "out", model=str(tiny_model), epochs=1, max_length=24, quiet=True)
    files, size = disk_use(tmp_path, exclude=(tmp_path / "out", data))
    assert all(f.is_relative_to(lmforge_home()) for f in files), files  # one predictable place
    assert not [f for f in files if f.suffix == ".safetensors"] and size < 3 << 20, (size, files)
    monkeypatch.setenv("LMFORGE_TRACKING_LOG_MODEL", "1")  # what --log-model sets
    lmforge.finetune(data, tmp_path / "out2", model=str(tiny_model), epochs=1, max_length=24, quiet=True)
    files, _ = disk_use(lmforge_home())
    assert [f for f in files if f.name == "model.safetensors"]


def test_a_tracking_failure_is_a_warning_and_off_means_off(tmp_path, monkeypatch):
    (tmp_path / "blocker").write_text("a file where the store's directory would have to be")
    monkeypatch.setenv("LMFORGE_TRACKING_URI", f"sqlite:///{tmp_path}/blocker/mlflow.db")
    with pytest.warns(RuntimeWarning, match="could not log the finetune run"):
        assert log_stage("finetune", tmp_path, {"config": {"epochs": 1}}) is None
    monkeypatch.setenv("LMFORGE_TRACKING", "off")
    assert log_stage("finetune", tmp_path, {"config": {"epochs": 1}}) is None
