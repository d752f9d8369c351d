"""Reading runs back from the store: what ``lmforge runs`` lists and compares (through MLflow's client,
the same store ``mlflow ui`` shows)."""

from __future__ import annotations

import time

from lmforge.errors import ConfigError
from lmforge.tracking.store import experiment_name, tracking_uri

HEADLINE_METRICS = ("dev.accuracy", "dev.macro_f1", "cost_usd", "wall_s", "baseline.accuracy")


def list_runs(stage: str | None = None, limit: int = 20) -> list[dict]:
    """The latest runs, newest first, as plain dicts (id, stage, output, status, start, params, metrics)."""
    from lmforge.tracking.mlflow_log import client, experiment_id

    c = client()
    exp = experiment_id(c, create=False)
    if exp is None:
        return []
    query = f"tags.`lmforge.stage` = '{stage}'" if stage else ""
    runs = c.search_runs([exp], filter_string=query, max_results=limit, order_by=["attributes.start_time DESC"])
    return [as_dict(r) for r in runs]


def as_dict(run) -> dict:
    return {"id": run.info.run_id, "stage": run.data.tags.get("lmforge.stage", ""),
            "output": run.data.tags.get("lmforge.output", ""), "status": run.info.status,
            "start": time.strftime("%Y-%m-%d %H:%M", time.localtime(run.info.start_time / 1000)),
            "params": dict(run.data.params), "metrics": dict(run.data.metrics)}


def get_runs(ids: list[str]) -> list[dict]:
    """Runs by id or by a unique prefix of one (as ``lmforge runs`` prints them)."""
    recent = list_runs(limit=1000)
    out = []
    for wanted in ids:
        found = [r for r in recent if r["id"].startswith(wanted)]
        if len(found) != 1:
            what = "no run" if not found else f"{len(found)} runs"
            raise ConfigError(f"{what} in {tracking_uri()} (experiment '{experiment_name()}') match '{wanted}'; "
                              "copy an id from `lmforge runs`")
        out.append(found[0])
    return out


def runs_table(runs: list[dict]) -> str:
    header = ["run", "started", "stage", "status", *(m.replace("dev.", "") for m in HEADLINE_METRICS), "output"]
    rows = [header]
    for r in runs:
        values = [fmt(r["metrics"].get(m)) for m in HEADLINE_METRICS]
        rows.append([r["id"][:8], r["start"], r["stage"], r["status"].lower(), *values, r["output"]])
    return aligned(rows)


def compare_table(runs: list[dict]) -> str:
    """Params and metrics side by side; only the params that differ, all the metrics."""
    params = sorted({k for r in runs for k in r["params"]})
    differing = [k for k in params if len({r["params"].get(k) for r in runs}) > 1]
    metrics = sorted({k for r in runs for k in r["metrics"]})
    rows = [["", *(r["id"][:8] for r in runs)], ["stage", *(r["stage"] for r in runs)]]
    rows += [[k, *(str(r["params"].get(k, "")) for r in runs)] for k in differing]
    rows += [[k, *(fmt(r["metrics"].get(k)) for r in runs)] for k in metrics]
    return aligned(rows)


def fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
    return str(x)


def aligned(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
