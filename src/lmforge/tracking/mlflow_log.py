"""Logging a stage's run to MLflow: the only module that imports mlflow for writing."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from lmforge.tracking.store import experiment_name, local_artifact_root, log_model_by_default, tracking_uri

# Files of a model directory that make up the model (what `from_pretrained` reads), logged under model/.
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
               "special_tokens_map.json", "model.onnx")
REPORT_SUFFIXES = (".html", ".png", ".json")
MAX_PARAM_CHARS = 500
# Reports and plots above this size are referenced by path, not copied (a store should stay small).
MAX_REPORT_BYTES = 2 << 20


def import_mlflow():
    # Telemetry off before the import: lmforge never talks to the network on its own.
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    try:
        import mlflow
    except ImportError:
        from lmforge.errors import missing_extra

        raise missing_extra("tracking", "tracking", "mlflow") from None
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


def client():
    """An MlflowClient on lmforge's store, with lmforge's experiment created (artifacts beside a SQLite file)."""
    return import_mlflow().MlflowClient(tracking_uri=tracking_uri())


def experiment_id(c, create: bool = True) -> str | None:
    name = experiment_name()
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    if not create:
        return None
    return c.create_experiment(name, artifact_location=local_artifact_root(tracking_uri()))


def flatten(values: dict, prefix: str = "") -> dict:
    """{"config": {"lr": 1e-4}} → {"config.lr": 1e-4}; lists and None are kept as text."""
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def numeric(values: dict) -> dict[str, float]:
    return {k: float(v) for k, v in flatten(values).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def manifest_metrics(manifest: dict) -> dict[str, float]:
    """The headline numbers of a manifest: final metrics, time, cost, energy, throughput."""
    metrics = {}
    m = manifest.get("metrics") or {}
    for split in ("dev", "test"):
        if isinstance(m.get(split), dict):
            metrics.update({f"{split}.{k}": v for k, v in numeric(m[split]).items()})
    for key in ("wall_s", "cpu_s", "peak_memory_mb"):
        if isinstance(manifest.get(key), (int, float)):
            metrics[key] = float(manifest[key])
    cost = manifest.get("cost") or {}
    if isinstance(cost.get("usd"), (int, float)):
        metrics["cost_usd"] = float(cost["usd"])
        metrics["price_per_hour"] = float(cost["price_per_hour"])
    energy = manifest.get("energy") or {}
    if isinstance(energy.get("kwh"), (int, float)):
        metrics["energy_kwh_estimate"] = float(energy["kwh"])
    training = manifest.get("training") or {}
    for key in ("samples_per_s", "steps", "samples", "padding_fraction"):
        if isinstance(training.get(key), (int, float)):
            metrics[f"training.{key}"] = float(training[key])
    baseline = manifest.get("baseline") or {}
    for key in ("accuracy", "macro_f1", "cost_usd"):
        if isinstance(baseline.get(key), (int, float)):
            metrics[f"baseline.{key}"] = float(baseline[key])
    return metrics


def history_metrics(manifest: dict) -> list[dict]:
    """Per-evaluation metrics of the training history (each carries its step and epoch)."""
    return list((manifest.get("metrics") or {}).get("history") or [])


def log_run(stage: str, output_dir, manifest: dict, params: dict, metrics: dict, artifacts,
            step_metrics: list[dict] | None, log_model: bool | None) -> str:
    import time

    import_mlflow()  # first: it switches telemetry off before mlflow is imported
    from mlflow.entities import Metric, Param, RunTag
    output_dir = Path(output_dir)
    c = client()
    exp = experiment_id(c)
    tags = {"lmforge.stage": stage, "lmforge.output": str(output_dir.resolve()),
            "mlflow.runName": f"{stage}:{output_dir.name}"}
    if os.environ.get("LMFORGE_TRACKING_TAGS"):  # set by a parent process (lmforge tune) to group its runs
        tags.update({str(k): str(v) for k, v in json.loads(os.environ["LMFORGE_TRACKING_TAGS"]).items()})
    run = c.create_run(exp, tags=tags)
    run_id = run.info.run_id
    try:
        all_params = flatten({"config": manifest["config"]}) if isinstance(manifest.get("config"), dict) else {}
        all_params.update(flatten(params))
        param_list = [Param(k, str(v)[:MAX_PARAM_CHARS]) for k, v in all_params.items()]
        now = int(time.time() * 1000)
        metric_list = [Metric(k, v, now, 0) for k, v in {**manifest_metrics(manifest), **numeric(metrics)}.items()]
        for entry in step_metrics if step_metrics is not None else history_metrics(manifest):
            step = int(entry.get("step", 0))
            for k, v in numeric({k: v for k, v in entry.items() if k != "step"}).items():
                metric_list.append(Metric(k if k in ("epoch", "train_loss") else f"step.{k}", v, now, step))
        extra_tags = [RunTag("lmforge.kind", str(manifest.get("kind", "")))] if manifest.get("kind") else []
        for i in range(0, max(len(param_list), len(metric_list)), 100):  # MLflow takes ≤100 params per batch
            c.log_batch(run_id, metrics=metric_list[i:i + 100],
                        params=param_list[i:i + 100], tags=extra_tags if i == 0 else [])
        if manifest:
            c.log_dict(run_id, manifest, "manifest.json")
        referenced = []
        for path in [Path(a) for a in artifacts]:
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for f in (f for f in files if f.exists()):
                if f.stat().st_size > MAX_REPORT_BYTES:
                    referenced.append(str(f.resolve()))
                    continue
                rel = f.parent.relative_to(path) if f != path else None
                folder = "reports" if rel is None else f"reports/{path.name}" + ("" if rel == Path(".") else f"/{rel}")
                c.log_artifact(run_id, str(f), folder)
        if referenced:
            c.set_tag(run_id, "lmforge.large_files", json.dumps(referenced)[:5000])
        if log_model if log_model is not None else log_model_by_default():
            for name in MODEL_FILES:
                if (output_dir / name).exists():
                    c.log_artifact(run_id, str(output_dir / name), "model")
            if (output_dir / "adapter").is_dir():
                c.log_artifacts(run_id, str(output_dir / "adapter"), "model/adapter")
        elif any((output_dir / name).exists() for name in MODEL_FILES):
            # the model by reference: where it is and what its weights are (config.json: a few KB)
            c.set_tag(run_id, "lmforge.model_dir", str(output_dir.resolve()))
            if (output_dir / "config.json").exists():
                c.log_artifact(run_id, str(output_dir / "config.json"), "model")
        c.set_terminated(run_id, "FINISHED")
    except BaseException:
        c.set_terminated(run_id, "FAILED")
        raise
    return run_id
