"""`lmforge compress` and `lmforge compare`: parse, call, print. Imports stay light (CLI start-up)."""

from __future__ import annotations


def cmd_compress(args) -> None:
    from lmforge import api
    from lmforge.cli import dataclass_from_args
    from lmforge.compression.settings import CompressConfig

    config = dataclass_from_args(CompressConfig, args)
    result = api.compress(args.model, args.output, overwrite=args.overwrite, quiet=args.quiet, config=config)
    m = result.manifest["measurements"]
    a, p, r = m["artifact"], m["parent"], m["ratios"]
    print(f"saved {result.output}  ({result.manifest['compression']['method']} of {p.get('backend')} parent)")
    print(f"accuracy {100 * a['accuracy']:.2f}% (parent {100 * p['accuracy']:.2f}%, "
          f"{r['accuracy_change_points']:+.2f} points, agreement {100 * a.get('agreement', 1):.1f}%) on "
          f"{m['examples']} examples of {m['eval_data']}")
    print(f"{a['sentences_per_s_b32']:.1f} sentences/s at batch 32 ({r['speedup_b32']:.2f}x parent), "
          f"p50 {a['p50_latency_ms_b1']:.2f} ms at batch 1 ({r['speedup_b1']:.2f}x), "
          f"{a['size_mb']:.1f} MB ({r['size']:.2f}x)")
    if m["accepted"] != "within max_drop":
        print("warning: kept with --force although it lost more than --max-drop")


def cmd_compare(args) -> None:
    from lmforge import api
    from lmforge.compression.comparison import format_table

    rows = api.compare(args.models, args.eval, plot=args.plot, recorded=args.recorded,
                               speed_texts=args.speed_texts, quiet=args.quiet)
    print(format_table(rows))
    if args.plot:
        print(f"plot: {args.plot}")


def register(sub) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.compression.settings import CompressConfig

    p = sub.add_parser("compress", help="make a smaller/faster artifact: onnx, onnx-int8, torch-int8, distill, "
                                        "prune (measured against its parent; refuses a large accuracy loss)")
    p.add_argument("model", help="parent model directory (a `lmforge finetune` output)")
    p.add_argument("--output", "-o", required=True, help="directory for the new artifact")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    add_dataclass_flags(p, CompressConfig)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("compare", help="compare artifacts: accuracy, size, speed; writes an accuracy-vs-speed plot")
    p.add_argument("models", nargs="+", help="model directories (the first is the reference for speed-ups)")
    p.add_argument("--eval", help="labelled file to measure on (default: the first model's dev set)")
    p.add_argument("--plot", default="compare.png", help="where to write the PNG plot (default: compare.png)")
    p.add_argument("--recorded", action="store_true", help="print the numbers each manifest recorded "
                                                          "instead of measuring now")
    p.add_argument("--speed-texts", type=int, default=512, help="texts timed per artifact (default: 512)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_compare)
