"""Commands `lmforge run` and `lmforge tune`."""

from __future__ import annotations

import json


def cmd_run(args) -> None:
    from lmforge import api

    result = api.run_pipeline(args.pipeline, force=tuple(args.force or ()), quiet=args.quiet, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for stage, what in result["stages"].items():
        print(f"{stage:9} {what}")
    print(f"results in {result['output']}")


def cmd_tune(args) -> None:
    from lmforge import api
    from lmforge.cli import dataclass_from_args
    from lmforge.pipeline.tune import TuneSettings, describe

    settings = dataclass_from_args(TuneSettings, args)
    result = api.tune(args.train, args.output, args.dev, quiet=args.quiet, settings=settings)
    print(json.dumps(result, indent=2, default=str) if args.json else describe(result))


def register(sub) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.pipeline.tune import TuneSettings

    p = sub.add_parser("run", help="run a pipeline file: prepare → finetune → evaluate → compress → cost, "
                                   "skipping unchanged stages and resuming interrupted ones")
    p.add_argument("pipeline", help="pipeline YAML file (see `lmforge.pipeline.config` for its sections)")
    p.add_argument("--force", nargs="*", metavar="STAGE", help="run these stages again even when unchanged")
    p.add_argument("--dry-run", action="store_true", help="validate and say what would run, without running")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("tune", help="search learning rate, batch size, epochs and method with Optuna "
                                    "(accuracy or accuracy per dollar), pruning bad trials early")
    p.add_argument("train", help="training data (CSV, TSV, JSONL, Parquet)")
    p.add_argument("--dev", help="dev data (default: a split held out of TRAIN)")
    p.add_argument("--output", "-o", required=True, help="directory for the trials and the study")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_dataclass_flags(p, TuneSettings)
    p.set_defaults(func=cmd_tune)
