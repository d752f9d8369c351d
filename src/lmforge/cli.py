"""`lmforge <command> ...`: a table of commands, each parsing its flags, calling the API and printing.

Errors of lmforge's own (bad data, bad settings, missing artifacts) are printed as one clear message with
exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import types
import typing
from lmforge.errors import LmforgeError


def add_dataclass_flags(parser: argparse.ArgumentParser, cls, skip: tuple[str, ...] = ()) -> None:
    """One ``--flag`` per dataclass field, typed, with the field's help text and default."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        if isinstance(kind, types.UnionType):  # "int | None" -> int
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        help_text = f.metadata.get("help", "")
        default = f.default if f.default is not dataclasses.MISSING else None
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=default, choices=f.metadata.get("choices"),
                                help=f"{help_text} (default: {default})", metavar=f.name.upper())


def dataclass_from_args(cls, args: argparse.Namespace):
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})


# --- commands: parse → api → print ---------------------------------------------------------------------------

def cmd_finetune(args) -> None:
    from lmforge import api
    from lmforge.config import FinetuneConfig

    config = dataclass_from_args(FinetuneConfig, args)
    result = api.finetune(args.train, args.output, args.dev, config=config, resume=args.resume,
                          overwrite=args.overwrite, quiet=args.quiet)
    if not result.manifest:  # a non-main process of a distributed run
        return
    training = result.manifest["training"]
    dev = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    print(f"saved {result.output}  (dev: {dev})")
    print(f"{training['samples_per_s']} samples/s, padding {100 * training['padding_fraction']:.1f}% of tokens, "
          f"{result.manifest['wall_s']:.0f} s, ~${result.manifest['cost']['usd']:.4f}")


def cmd_evaluate(args) -> None:
    from lmforge import api

    m = api.evaluate(args.model, args.data, args.output, text_column=args.text_column,
                     label_column=args.label_column, encoding=args.encoding, backend=args.backend)
    ci = m["confidence_intervals"]
    print(f"accuracy {100 * m['accuracy']:.2f}% (95% CI {100 * ci['accuracy'][0]:.2f}–{100 * ci['accuracy'][1]:.2f}) "
          f"macro-F1 {m['macro_f1']:.4f}  ECE {m['expected_calibration_error']:.4f}  on {m['examples']} examples")
    print(f"report: {m['output']}/report.html")


def cmd_predict(args) -> None:
    from lmforge import api

    if args.input:
        if not args.output:
            raise LmforgeError("--input needs --output FILE (.jsonl or .csv)")
        n = api.predict(args.model, input=args.input, output=args.output, text_column=args.text_column,
                        encoding=args.encoding, backend=args.backend)
        print(f"wrote {n} predictions to {args.output}")
        return
    if not args.texts:
        raise LmforgeError("give texts to classify, or --input FILE --output FILE")
    for text, p in zip(args.texts, api.predict(args.model, args.texts, backend=args.backend)):
        if args.json:
            print(json.dumps({"text": text, **p.to_dict()}))
        else:
            print(f"{p.line()}\t{text}")


def build_parser() -> argparse.ArgumentParser:
    from lmforge.version import __version__
    from lmforge.config import FinetuneConfig

    parser = argparse.ArgumentParser(prog="lmforge", description="Fine-tune, evaluate, compress, serve and "
                                     "price task-specific language models.")
    parser.add_argument("--version", action="version", version=f"lmforge {__version__}")
    parser.add_argument("--tracking-uri", help="MLflow store every stage logs to (default: $LMFORGE_TRACKING_URI, "
                        "$MLFLOW_TRACKING_URI, or sqlite:///mlflow.db in the working directory)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("finetune", help="fine-tune a text classifier on a labelled file")
    p.add_argument("train", help="training data: CSV, TSV, JSONL or Parquet (or a `data prepare` directory)")
    p.add_argument("--dev", help="dev data (default: a stratified split held out of TRAIN)")
    p.add_argument("--output", "-o", required=True, help="directory for the model")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_dataclass_flags(p, FinetuneConfig)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help="score a model on a labelled file; writes metrics, plots, report.html")
    p.add_argument("model", help="model directory")
    p.add_argument("data", help="labelled data file")
    p.add_argument("--output", "-o", help="report directory (default: MODEL/eval/<data name>)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="label texts, or a whole file")
    p.add_argument("model", help="model directory")
    p.add_argument("texts", nargs="*", help="texts to classify")
    p.add_argument("--input", "-i", help="file of texts (CSV/TSV/JSONL/Parquet/TXT)")
    p.add_argument("--output", "-o", help="where to write predictions (.jsonl or .csv)")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=cmd_predict)

    for name in ("evaluate", "predict"):
        p = sub.choices[name]
        p.add_argument("--text-column", help="text column (detected when omitted)")
        if name == "evaluate":
            p.add_argument("--label-column", help="label column (detected when omitted)")
        p.add_argument("--encoding", default="utf-8", help="text encoding of the data file (default: utf-8)")
        p.add_argument("--backend", default="auto", help="inference backend: auto, torch, onnx (default: auto)")

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


# Each stage's commands live beside the stage: a module with ``register(subparsers)`` that adds its parsers
# (keep its top-level imports light: the CLI imports it at start-up).
COMMAND_MODULES: list[str] = ["lmforge.serving.cli", "lmforge.data.cli", "lmforge.compression.cli",
                              "lmforge.costs.cli", "lmforge.tracking.cli", "lmforge.pipeline.cli"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from lmforge.metering.meter import count_process_startup
    from lmforge.tracking.store import set_tracking_uri

    if argv is None:  # the `lmforge` process itself pays for its machine from process start (imports included)
        count_process_startup()
    set_tracking_uri(args.tracking_uri)
    try:
        args.func(args)
    except LmforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
