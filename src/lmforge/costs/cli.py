"""Commands `lmforge hardware`, `lmforge cost` and `lmforge usage` (registered through cli.COMMAND_MODULES)."""

from __future__ import annotations

import json


def cmd_hardware(args) -> None:
    from lmforge import api

    profile = api.hardware(refresh=args.refresh, seconds=args.seconds, price_per_hour=args.price_per_hour,
                           instance=args.instance)
    price = profile["price"]
    if args.json:
        print(json.dumps(profile, indent=2))
        return
    gpu = profile["gpu"]
    print(f"cpu        {profile['cpu_model']} ({profile['physical_cores']} physical / {profile['logical_cores']} logical cores)")
    print(f"memory     {profile['memory_gb']} GB")
    print(f"gpu        {gpu['count']} x {gpu['name']} ({gpu['memory_gb']} GB)" if gpu else "gpu        none")
    print(f"fp32       {profile['fp32_gflops']:.1f} GFLOP/s (matmul, {profile['torch_threads']} torch threads"
          + (", cached" if profile["cached"] else ", measured now") + f"; {profile['cache_path']})")
    if gpu:
        print(f"gpu fp32   {profile['gpu_fp32_gflops']:.1f} GFLOP/s")
    print(f"price      ${price['usd_per_hour']}/hour: {price['basis']}")


def cmd_cost(args) -> None:
    from lmforge import api
    from lmforge.cli import dataclass_from_args
    from lmforge.costs.report import CostSettings
    from lmforge.costs.report_html import summary_lines, terminal_table

    settings = dataclass_from_args(CostSettings, args)
    report = api.cost(args.model, args.output, also=args.also or [], quiet=args.quiet, settings=settings)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return
    for line in summary_lines(report):
        print(line)
    print()
    print(terminal_table(report))
    print(f"\nreport: {report['output']}/report.html")


def cmd_usage(args) -> None:
    from lmforge import api
    from lmforge.costs.report_html import money

    report = api.usage(args.model, price_per_hour=args.price_per_hour, instance=args.instance)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return
    rows = [["key", "requests", "texts", "tokens", "share", "cost"]]
    for r in report["keys"]:
        rows.append([r["key"], f"{r['requests']:,}", f"{r['texts']:,}", f"{r['tokens']:,}", f"{100 * r['share']:.1f}%",
                     money(r["usd"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print(f"\n{report['basis']}")


def register(sub) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.costs.report import CostSettings

    p = sub.add_parser("hardware", help="measure this machine (CPU, cores, memory, GPU, fp32 GFLOP/s) and cache it")
    p.add_argument("--refresh", action="store_true", help="measure again instead of reading the cache")
    p.add_argument("--seconds", type=float, default=1.0, help="length of the GFLOP/s benchmark (default: 1.0)")
    p.add_argument("--instance", help="price-table name of this machine (default: priced by hardware class)")
    p.add_argument("--price-per-hour", type=float, help="$ per hour of this machine")
    p.add_argument("--json", action="store_true", help="print the profile as JSON")
    p.set_defaults(func=cmd_hardware)

    p = sub.add_parser("cost", help="training cost, $ per 1M predictions per backend, monthly bill, ROI vs a "
                                    "hosted LLM and vs a TF-IDF baseline")
    p.add_argument("model", help="model directory (the output of `lmforge finetune`)")
    p.add_argument("--also", nargs="*", metavar="DIR", help="other artifacts of the same model to price too "
                   "(compressed artifacts beside MODEL that name it as their parent are found by themselves)")
    p.add_argument("--output", "-o", help="report directory (default: MODEL/cost)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_dataclass_flags(p, CostSettings)
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("usage", help="per-key requests, tokens and cost share of a served model")
    p.add_argument("model", help="model directory being served")
    p.add_argument("--instance", help="price-table name of the serving machine")
    p.add_argument("--price-per-hour", type=float, help="$ per hour of the serving machine")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_usage)
