"""`lmforge <command> ...`: a table of commands, each parsing its flags, calling the API and printing.

Errors of lmforge's own (bad data, bad settings, missing artifacts) are printed as one clear message with
exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import types
import typing

from lmforge.errors import LmforgeError
from lmforge.threads import limit_threads


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
        help_text = f.metadata.get("help", "").replace("%", "%%")  # argparse formats help with %
        default = f.default if f.default is not dataclasses.MISSING else None
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=default, choices=f.metadata.get("choices"),
                                help=f"{help_text} (default: {default})", metavar=f.name.upper())


def flags_given(cls, argv: list[str] | None) -> set[str] | None:
    """The fields of ``cls`` whose flag appears in ``argv`` (None without argv: take them all as given)."""
    if argv is None:
        return None
    given = set()
    for f in dataclasses.fields(cls):
        flag = f.name.replace("_", "-")
        if any(a in (f"--{flag}", f"--no-{flag}") or a.startswith(f"--{flag}=") for a in argv):
            given.add(f.name)
    return given


def dataclass_from_args(cls, args: argparse.Namespace):
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})


# --- commands: parse → api → print ---------------------------------------------------------------------------

def cmd_finetune(args) -> None:
    from lmforge import api
    from lmforge.config import FinetuneConfig

    if getattr(args, "task", None) == "sft":  # instruction tuning of a causal LM: `lmforge sft` takes over
        from lmforge.generation.cli import finetune_as_sft

        return finetune_as_sft(args.argv)
    if args.log_model:  # read by tracking when the run is logged (and by the processes this one starts)
        os.environ["LMFORGE_TRACKING_LOG_MODEL"] = "1"
    config = dataclass_from_args(FinetuneConfig, args)
    result = api.finetune(args.train, args.output, args.dev, config=config, resume=args.resume,
                          overwrite=args.overwrite, quiet=args.quiet,
                          given_settings=flags_given(FinetuneConfig, getattr(args, "argv", None)))
    if not result.manifest:  # a non-main process of a distributed run
        return
    training = result.manifest["training"]
    dev = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    speed = (f"{training['samples_per_s']} samples/s, padding {100 * training['padding_fraction']:.1f}% of tokens, "
             f"{result.manifest['wall_s']:.0f} s, ~${result.manifest['cost']['usd']:.4f}")
    if args.quiet:  # one line: what was saved, how good, how fast
        print(f"saved {result.output}  (dev: {dev}; {speed})")
        return
    print(f"saved {result.output}  (dev: {dev})")
    print(speed)
    if training.get("truncated_texts"):
        print(f"note: {training['truncated_texts']} training texts reached --max-length "
              f"{result.manifest['config']['max_length']} tokens and were cut there")
    if (vocabulary := result.manifest.get("adaptive", {}).get("vocabulary")):  # --extend-vocab
        print(f"note: {vocabulary['unknown_share_before']:.0%} of the training tokens were unknown to the tokenizer; "
              f"{vocabulary['added']:,} words became tokens (unknown now {vocabulary['unknown_share_after']:.1%})")
    if "privacy" in result.manifest:  # --dp-epsilon
        p = result.manifest["privacy"]
        print(f"DP-SGD: ε spent {p['epsilon_spent']} of {p['epsilon_target']} at δ {p['delta']:.2e} "
              f"(noise multiplier {p['noise_multiplier']}, {p['steps_taken']} steps)")
        if p.get("warning"):
            print(f"WARNING: {p['warning']}")
    if (warning := result.manifest.get("adaptive", {}).get("warning")):
        print(f"WARNING: {warning}")
    if (verdict := result.manifest.get("verdict")):  # never lose silently to the baseline
        print(("WARNING: " if verdict["winner"] == "baseline" else "") + verdict["message"])


def cmd_evaluate(args) -> None:
    limit_threads(args.threads)
    from lmforge import api

    m = api.evaluate(args.model, args.data, args.output, text_column=args.text_column,
                     label_column=args.label_column, encoding=args.encoding, backend=args.backend, split=args.split)
    if "accuracy" not in m.get("confidence_intervals", {}):  # not a single-label classifier: its top-level scores
        scores = "  ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float))
        print(f"{scores}  on {m['examples']} examples")
    else:
        ci = m["confidence_intervals"]
        print(f"accuracy {100 * m['accuracy']:.2f}% "
              f"(95% CI {100 * ci['accuracy'][0]:.2f}–{100 * ci['accuracy'][1]:.2f}) "
              f"macro-F1 {m['macro_f1']:.4f}  ECE {m['expected_calibration_error']:.4f}  on {m['examples']} examples")
    if m.get("verdict", {}).get("winner") == "baseline":
        print(f"WARNING: {m['verdict']['message']}")
    print(f"report: {m['output']}/report.html")


FEW_TEXTS = 64  # up to this many texts on the command line, a BERT classifier runs in NumPy (no torch import)


def cmd_predict(args) -> None:
    # Not through lmforge.api: a prediction must not pay for importing training and evaluation, and the quick
    # predictor skips transformers where it can (lmforge.inference.quick; bench/startup.py measures it).
    limit_threads(args.threads)
    from lmforge.inference.predict import predict_file
    from lmforge.inference.quick import quick_predictor

    if args.input:
        if not args.output:
            raise LmforgeError("--input needs --output FILE (.jsonl or .csv)")
        n = predict_file(args.model, args.input, args.output, text_column=args.text_column, encoding=args.encoding,
                         predictor=quick_predictor(args.model, args.backend), split=args.split)
        print(f"wrote {n} predictions to {args.output}")
        return
    if not args.texts:
        raise LmforgeError("give texts to classify, or --input FILE --output FILE")
    for text, p in zip(args.texts, quick_predictor(args.model, args.backend, few_texts=len(args.texts) <= FEW_TEXTS).predict(args.texts)):
        if args.json:
            print(json.dumps({"text": text, **p.to_dict()}))
        else:
            print(f"{p.line()}\t{text}")


def register(sub) -> None:
    """The commands of this module: finetune, evaluate, predict."""
    from lmforge.config import FinetuneConfig

    # no abbreviated flags: --resume tells the flags given from those left out by their exact names
    p = sub.add_parser("finetune", help=COMMANDS["finetune"][1], allow_abbrev=False)
    p.add_argument("train", help="training data: CSV, TSV, TXT, JSON, JSONL, Parquet, XLSX, a folder of one text "
                                 "per file under <label>/ folders, or a `data prepare` directory")
    p.add_argument("--dev", help="dev data (default: a stratified split held out of TRAIN)")
    p.add_argument("--output", "-o", required=True, help="directory for the model")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output with its "
                   "settings (flags given again must not change the result)")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="print one summary line, no progress bars")
    p.add_argument("--log-model", action="store_true", help="copy the model's files into the tracking store too "
                   "(default: the run references the model directory, whose weights are already on disk)")
    add_dataclass_flags(p, FinetuneConfig)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help=COMMANDS["evaluate"][1])
    p.add_argument("model", help="model directory")
    p.add_argument("data", help="labelled data: a file or a folder, in the layouts `finetune` reads")
    p.add_argument("--output", "-o", help="report directory (default: MODEL/eval/<data name>)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help=COMMANDS["predict"][1])
    p.add_argument("model", help="model directory")
    p.add_argument("texts", nargs="*", help="texts to classify")
    p.add_argument("--input", "-i", help="file of texts (CSV/TSV/TXT/JSON/JSONL/Parquet/XLSX, or a folder)")
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
        p.add_argument("--threads", type=int, help="CPU threads for inference (default: the libraries' own choice)")
        p.add_argument("--split", help="split of a multi-split source: a JSON document's key, a workbook's "
                                       "sheet, a folder's sub-folder (default: the one named test, else dev/val)")


# Each stage's commands live beside the stage: a module with ``register(subparsers)`` that adds its parsers.
COMMAND_MODULES: list[str] = ["lmforge.cli", "lmforge.serving.cli", "lmforge.data.cli", "lmforge.compression.cli",
                              "lmforge.costs.cli", "lmforge.tracking.cli", "lmforge.pipeline.cli",
                              "lmforge.generation.cli", "lmforge.federated.cli", "lmforge.pretraining.cli"]
# Which module registers each command, and its one-line help. Start-up reads only this table and registers
# the one module whose command runs: registering them all imports every stage's settings (numpy, torch, yaml
# …), which made `lmforge --help` take seconds. tests/test_cli_startup.py checks the table against what the
# modules register; a module missing from it still works (it is registered whenever the command is not found
# here, so only start-up is slower).
COMMANDS: dict[str, tuple[str, str]] = {
    "finetune": ("lmforge.cli", "fine-tune a text classifier on a labelled file"),
    "evaluate": ("lmforge.cli", "score a model on a labelled file; writes metrics, plots, report.html"),
    "predict": ("lmforge.cli", "label texts, or a whole file"),
    "serve": ("lmforge.serving.cli", "serve a model over HTTP (dynamic batching, API keys, metrics)"),
    "keys": ("lmforge.serving.cli", "create, list and revoke API keys of a served model"),
    "data": ("lmforge.data.cli", "inspect and prepare labelled text (clean, dedup, leakage, PII)"),
    "compress": ("lmforge.compression.cli", "make a smaller/faster artifact: onnx, onnx-int8, torch-int8, distill, "
                                            "prune (measured against its parent; refuses a large accuracy loss)"),
    "compare": ("lmforge.compression.cli", "compare artifacts: accuracy, size, speed; writes an accuracy-vs-speed plot"),
    "hardware": ("lmforge.costs.cli", "measure this machine (CPU, cores, memory, GPU, fp32 GFLOP/s) and cache it"),
    "cost": ("lmforge.costs.cli", "training cost, $ per 1M predictions per backend, monthly bill, ROI vs a "
                                  "hosted LLM and vs a TF-IDF baseline"),
    "usage": ("lmforge.costs.cli", "per-key requests, tokens and cost share of a served model"),
    "runs": ("lmforge.tracking.cli", "list tracked runs (MLflow), or compare some side by side"),
    "run": ("lmforge.pipeline.cli", "run a pipeline file: prepare → finetune → evaluate → compress → cost, "
                                    "skipping unchanged stages and resuming interrupted ones"),
    "tune": ("lmforge.pipeline.cli", "search learning rate, batch size, epochs and method with Optuna "
                                     "(accuracy or accuracy per dollar), pruning bad trials early"),
    "sft": ("lmforge.generation.cli", "supervised fine-tuning of a causal LM on instruction/response data "
                                      "(same as `lmforge finetune DATA --task sft`)"),
    "generate": ("lmforge.generation.cli", "generate text from a prompt with a causal LM (streams to the terminal)"),
    "federated": ("lmforge.federated.cli", "federated fine-tuning simulated on this machine (Flower, FedAvg)"),
    "chat": ("lmforge.generation.cli", "chat with an instruction model in the terminal (streaming, its chat template)"),
    "tokenizer": ("lmforge.pretraining.cli", "train a tokenizer on a corpus"),
    "pretrain": ("lmforge.pretraining.cli", "pretrain a masked or causal LM on unlabelled text (or continue one)"),
}
GLOBAL_OPTIONS_WITH_VALUE = ("--tracking-uri",)


def invoked_command(argv: list[str]) -> str | None:
    """The command word in ``argv`` (after the global options), or None (``lmforge --help``, a typo)."""
    args = iter(argv)
    for arg in args:
        if arg in GLOBAL_OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the module that owns the command in it registers its flags (fast)."""
    from lmforge.version import __version__

    parser = argparse.ArgumentParser(prog="lmforge", description="Fine-tune, evaluate, compress, serve and "
                                     "price task-specific language models.")
    parser.add_argument("--version", action="version", version=f"lmforge {__version__}")
    parser.add_argument("--tracking-uri", help="MLflow store every stage logs to (default: $LMFORGE_TRACKING_URI, "
                        "$MLFLOW_TRACKING_URI, or $LMFORGE_HOME/mlflow.db, ~/.lmforge/mlflow.db by default)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = invoked_command(argv) if argv is not None else None
    if argv is None or command not in COMMANDS:
        wanted = COMMAND_MODULES  # everything: the full parser (tests, docs), or a word we cannot place
        if argv is not None and command is None:  # `lmforge --help`: the table's one-liners suffice
            wanted = [m for m in COMMAND_MODULES if m not in {mod for mod, _ in COMMANDS.values()}]
    else:
        wanted = [COMMANDS[command][0]]
    for module in wanted:
        importlib.import_module(module).register(sub)
    for name, (module, help_text) in COMMANDS.items():
        if name not in sub.choices:  # a placeholder: listed in --help, its flags registered when it runs
            sub.add_parser(name, help=help_text, add_help=False)
    # the help lists commands in the table's order, whichever were registered for real
    order = list(COMMANDS) + [n for n in sub.choices if n not in COMMANDS]
    sub._choices_actions.sort(key=lambda a: order.index(a.dest) if a.dest in order else len(order))
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args = build_parser(arguments).parse_args(arguments)
    args.argv = arguments  # which flags were given (finetune --resume reuses the others)
    from lmforge.metering.meter import count_process_startup
    from lmforge.tracking.store import set_tracking_uri

    from lmforge.console import quiet_libraries, show_warnings_as_one_line

    if argv is None:  # the `lmforge` process itself pays for its machine from process start (imports included)
        count_process_startup()
        show_warnings_as_one_line()
    if getattr(args, "quiet", False):
        quiet_libraries()
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
