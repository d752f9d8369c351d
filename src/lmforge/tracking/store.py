"""Which MLflow store lmforge logs to, without importing MLflow.

One predictable place, whatever directory a command runs in: ``$LMFORGE_HOME/mlflow.db`` (artifacts in
``$LMFORGE_HOME/mlruns/``), with ``LMFORGE_HOME`` defaulting to ``~/.lmforge``. ``--tracking-uri``,
``$LMFORGE_TRACKING_URI`` or ``$MLFLOW_TRACKING_URI`` name another store (a team server).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_EXPERIMENT = "lmforge"
OFF_VALUES = ("0", "off", "false", "no")


def tracking_enabled() -> bool:
    return os.environ.get("LMFORGE_TRACKING", "on").strip().lower() not in OFF_VALUES


def lmforge_home() -> Path:
    """``$LMFORGE_HOME``, else ``~/.lmforge``: where the default tracking store lives."""
    return Path(os.environ.get("LMFORGE_HOME") or "~/.lmforge").expanduser().resolve()


def tracking_uri() -> str:
    """``$LMFORGE_TRACKING_URI``, ``$MLFLOW_TRACKING_URI``, or ``sqlite:///$LMFORGE_HOME/mlflow.db``."""
    uri = os.environ.get("LMFORGE_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return "sqlite:///" + str(lmforge_home() / "mlflow.db")


def log_model_by_default() -> bool:
    """Copy the model's files into the store? No, unless ``--log-model`` or ``LMFORGE_TRACKING_LOG_MODEL=1``:
    the run records the model directory's path and the weights' SHA-256 instead (the weights are already
    on disk in the model directory; a copy per run was ~90 MB)."""
    return os.environ.get("LMFORGE_TRACKING_LOG_MODEL", "0").strip().lower() not in OFF_VALUES


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
