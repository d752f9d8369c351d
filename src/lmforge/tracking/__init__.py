"""Tracking: every stage logs its run to MLflow, and a logging failure never breaks the stage.

    >>> from lmforge.tracking import log_stage
    >>> log_stage("finetune", "runs/sst2", manifest)      # params, per-step metrics, manifest, small reports

The model is referenced (its directory and the weights' SHA-256 from the manifest), not copied, unless
``--log-model`` (or ``LMFORGE_TRACKING_LOG_MODEL=1``) asks for a copy. Where runs go: ``--tracking-uri``
(``lmforge --tracking-uri URI <command>``), else ``$LMFORGE_TRACKING_URI`` or ``$MLFLOW_TRACKING_URI``,
else one SQLite file ``$LMFORGE_HOME/mlflow.db`` (``~/.lmforge`` by default; artifacts beside it in
``mlruns/``), whatever the working directory; ``lmforge runs`` prints which.
``LMFORGE_TRACKING=off`` turns tracking off. MLflow is imported only when a run is logged (it takes
seconds to import), and its telemetry is switched off: nothing reaches the network unless the URI says so.
"""

from __future__ import annotations

from lmforge.tracking.store import tracking_enabled, tracking_uri

__all__ = ["log_stage", "tracking_enabled", "tracking_uri"]


def log_stage(stage: str, output_dir, manifest: dict | None = None, params: dict | None = None,
              metrics: dict | None = None, artifacts=(), step_metrics: list[dict] | None = None,
              log_model: bool | None = None) -> str | None:
    """Log one stage's run; returns the MLflow run id, or None when tracking is off or failed (a warning)."""
    if not tracking_enabled():
        return None
    import warnings

    try:
        from lmforge.tracking.mlflow_log import log_run

        return log_run(stage, output_dir, manifest or {}, params or {}, metrics or {}, artifacts,
                       step_metrics, log_model)
    except Exception as e:  # noqa: BLE001 - a tracking problem must never cost the user the stage's work
        warnings.warn(f"could not log the {stage} run to MLflow at {tracking_uri()} ({type(e).__name__}: {e}); "
                      f"the results are saved in {output_dir} all the same. Set LMFORGE_TRACKING=off to skip "
                      "tracking, or fix --tracking-uri", RuntimeWarning, stacklevel=2)
        return None
