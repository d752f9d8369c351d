"""`lmforge data inspect FILE...` and `lmforge data prepare INPUT... --output DIR`.

Registered through ``lmforge.cli.COMMAND_MODULES``; top-level imports stay light (the CLI imports this
module at start-up), the work is imported when a command runs.
"""

from __future__ import annotations


def _print_inspect(summary: dict) -> None:
    for f in summary["files"]:
        labels = f["label_distribution"]
        print(f"{f['path']}: {f['rows']:,} rows, text column '{f['text_column']}', label column "
              f"'{f['label_column'] or '-'}', {len(labels)} labels"
              + (f" (imbalance {f['imbalance_ratio']}x)" if "imbalance_ratio" in f else ""))
        tokens = f.get("token_length")
        if tokens:
            print(f"  tokens: median {tokens['p50']}, p99 {tokens['p99']}, max {tokens['max']}; "
                  f"{tokens['over_max_length']:,} above max_length {tokens['max_length']}")
        print(f"  empty {f['empty_texts']:,}, exact duplicate rows {f['exact_duplicate_rows']:,}, near-duplicate "
              f"pairs {f.get('near_duplicate_pairs', '-')}, texts with conflicting labels "
              f"{f['conflicting_label_texts']:,}")
        issues = {k: v for k, v in f["issues"].items() if k != "empty"}
        if issues:
            print("  issues: " + ", ".join(f"{k} {v:,}" for k, v in issues.items()))
        if f["pii"]:
            print("  personal data: " + ", ".join(f"{k} {v:,}" for k, v in f["pii"].items()))
    for o in summary["overlap"]:
        print(f"overlap {o['a']} ↔ {o['b']}: {o['exact_texts']:,} same texts"
              + (f", {o['near_pairs']:,} near-duplicate pairs" if "near_pairs" in o else ""))
    if "report" in summary:
        print(f"report: {summary['report']}")


def cmd_inspect(args) -> None:
    from lmforge import api
    from lmforge.cli import dataclass_from_args
    from lmforge.data.inspect import InspectConfig

    summary = api.inspect_data(args.files, args.output, quiet=args.quiet, config=dataclass_from_args(InspectConfig, args))
    _print_inspect(summary)


def cmd_prepare(args) -> None:
    from lmforge import api
    from lmforge.cli import dataclass_from_args
    from lmforge.data.cleaning import CleaningConfig
    from lmforge.data.prepare import PrepareConfig

    config = dataclass_from_args(PrepareConfig, args)
    config.cleaning = dataclass_from_args(CleaningConfig, args)
    m = api.prepare_data(args.inputs, args.output, overwrite=args.overwrite, quiet=args.quiet, config=config)
    c = m["counts"]
    print(f"{c['rows_in']:,} rows in → {c['rows_out']:,} out, {c['removed']:,} removed, {c['altered']:,} altered "
          f"({m['wall_s']:.1f} s)")
    for name, out in m["outputs"].items():
        print(f"  {name}: {out['rows']:,} rows → {args.output}/{out['path']}")
    if m["removed_by_reason"]:
        print("  removed: " + ", ".join(f"{k} {v:,}" for k, v in m["removed_by_reason"].items()))
    if m["pii_redacted"]:
        print("  redacted: " + ", ".join(f"{k} {v:,}" for k, v in m["pii_redacted"].items()))
    leaks = {k: v for k, v in m["leakage"].items() if k in ("dev", "test")}
    if leaks:
        print("  leakage from train: " + ", ".join(f"{k} {v['exact']:,} exact / {v.get('near', '-')} near"
                                                   for k, v in leaks.items()))
    print(f"  conflicting-label texts: {m['conflicts']['texts']:,} ({m['config']['conflicts']})")
    print(f"every removed row: {args.output}/removed.jsonl; every altered row: {args.output}/changes.jsonl; "
          f"report: {args.output}/report.html")


def register(subparsers) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.data.cleaning import CleaningConfig
    from lmforge.data.settings import InspectConfig, PrepareConfig

    data = subparsers.add_parser("data", help="inspect and prepare labelled text (clean, dedup, leakage, PII)")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("inspect", help="summarise files: labels, lengths, duplicates, leakage, encoding, PII")
    p.add_argument("files", nargs="+", help="CSV, TSV, JSONL, Parquet or TXT files")
    p.add_argument("--output", "-o", help="directory for report.html, summary.json, figures.json and plots")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_dataclass_flags(p, InspectConfig)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("prepare", help="write cleaned train/dev/test.jsonl, removed.jsonl, changes.jsonl, "
                                       "manifest.json and report.html")
    p.add_argument("inputs", nargs="+", help="input files (named train/dev/test: their roles are kept)")
    p.add_argument("--output", "-o", required=True, help="directory for the prepared data")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_dataclass_flags(p, PrepareConfig, skip=("cleaning",))
    add_dataclass_flags(p, CleaningConfig)
    p.set_defaults(func=cmd_prepare)
