"""Command `lmforge runs`: list and compare tracked runs in the terminal."""

from __future__ import annotations

import json


def cmd_runs(args) -> None:
    from lmforge import api
    from lmforge.tracking.runs import compare_table, runs_table
    from lmforge.tracking.store import set_tracking_uri, tracking_uri

    set_tracking_uri(args.runs_tracking_uri)
    if args.compare:
        runs = api.runs(ids=args.compare)
        print(json.dumps(runs, indent=2) if args.json else compare_table(runs))
        return
    runs = api.runs(args.stage, args.limit)
    if args.json:
        print(json.dumps(runs, indent=2))
    elif not runs:
        print(f"no runs in {tracking_uri()} yet; `lmforge finetune` logs one")
    else:
        print(runs_table(runs))
        print(f"\nstore: {tracking_uri()}  (browse: mlflow ui --backend-store-uri {tracking_uri()})")


def register(sub) -> None:
    p = sub.add_parser("runs", help="list tracked runs (MLflow), or compare some side by side")
    p.add_argument("--stage", help="only runs of this stage (finetune, evaluate, compress, tune, pipeline ...)")
    p.add_argument("--limit", type=int, default=20, help="how many of the latest runs (default: 20)")
    p.add_argument("--compare", nargs="+", metavar="RUN", help="run ids (or prefixes) to compare")
    p.add_argument("--tracking-uri", dest="runs_tracking_uri", help="MLflow store (default: $LMFORGE_TRACKING_URI, $MLFLOW_TRACKING_URI "
                   "or $LMFORGE_HOME/mlflow.db, ~/.lmforge/mlflow.db by default)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_runs)
