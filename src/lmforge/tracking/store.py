"""Which MLflow store lmforge logs to, without importing MLflow."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_EXPERIMENT = "lmforge"
OFF_VALUES = ("0", "off", "false", "no")


def tracking_enabled() -> bool:
    return os.environ.get("LMFORGE_TRACKING", "on").strip().lower() not in OFF_VALUES


def tracking_uri() -> str:
    """``$LMFORGE_TRACKING_URI``, ``$MLFLOW_TRACKING_URI``, or ``sqlite:///<cwd>/mlflow.db`` (MLflow's default)."""
    uri = os.environ.get("LMFORGE_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return "sqlite:///" + str(Path.cwd() / "mlflow.db")


def set_tracking_uri(uri: str | None) -> None:
    """What ``--tracking-uri`` does: the URI for this process and the processes it starts."""
    if uri:
        if "://" not in uri and not uri.startswith(("databricks", "file:")):
            # a bare path: a SQLite file (``team.db``), or ``mlflow.db`` inside a directory
            path = Path(uri).expanduser().resolve()
            uri = "sqlite:///" + str(path if path.suffix == ".db" else path / "mlflow.db")
        os.environ["LMFORGE_TRACKING_URI"] = uri


def experiment_name() -> str:
    return os.environ.get("LMFORGE_EXPERIMENT", DEFAULT_EXPERIMENT)


def local_artifact_root(uri: str) -> str | None:
    """For a SQLite store, artifacts go in ``mlruns/`` beside the database file (not the working directory)."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return (db.parent / "mlruns").resolve().as_uri()
    return None
