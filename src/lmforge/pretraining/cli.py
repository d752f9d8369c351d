"""`lmforge tokenizer train …` and `lmforge pretrain …`: parse, call the API, print."""

from __future__ import annotations


def cmd_tokenizer_train(args) -> None:
    import time

    from lmforge.metering.meter import Meter
    from lmforge.pretraining.tokenizer_training import train_tokenizer

    with Meter() as meter:
        t0 = time.perf_counter()
        summary = train_tokenizer(args.corpus, _path(args.output), kind=args.kind, vocab_size=args.vocab_size,
                                  min_frequency=args.min_frequency, max_token_length=args.max_token_length,
                                  text_column=args.text_column, encoding=args.encoding, lowercase=args.lowercase,
                                  progress=not args.quiet)
        seconds = time.perf_counter() - t0
    print(f"saved {summary['path']}  ({summary['kind']}, {summary['vocab_size']} tokens, {seconds:.1f} s, "
          f"peak memory {meter.peak_memory_mb():.0f} MB)")


def cmd_pretrain(args) -> None:
    from lmforge.cli import dataclass_from_args
    from lmforge.pretraining.config import PretrainConfig
    from lmforge.pretraining.recipe import pretrain

    config = dataclass_from_args(PretrainConfig, args)
    result = pretrain(args.corpus, args.output, config, resume=args.resume, overwrite=args.overwrite,
                      quiet=args.quiet)
    if not result.manifest:  # a non-main process of a distributed run
        return
    training, val = result.manifest["training"], result.metrics
    mfu = f", MFU {100 * training['mfu']:.1f}%" if training.get("mfu") else ""
    print(f"saved {result.output}  (val loss {val.get('val_loss', float('nan')):.4f}, perplexity "
          f"{val.get('perplexity', float('nan')):.2f})")
    print(f"{training['tokens_seen']} tokens, {training['tokens_per_s']:.0f} tokens/s{mfu}, "
          f"{result.manifest['wall_s']:.0f} s, ~${result.manifest['cost']['usd']:.4f}")


def _path(value):
    from pathlib import Path

    return Path(value)


def register(sub) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.pretraining.config import PretrainConfig

    p = sub.add_parser("tokenizer", help="train a tokenizer on a corpus")
    tsub = p.add_subparsers(dest="tokenizer_command", required=True, metavar="ACTION")
    t = tsub.add_parser("train", help="train a bpe, wordpiece, unigram or char tokenizer (AutoTokenizer loads it)")
    t.add_argument("corpus", nargs="+", help="text files (.txt), CSV/TSV/JSONL/Parquet text columns, or folders")
    t.add_argument("--output", "-o", required=True, help="directory for tokenizer.json and its config")
    t.add_argument("--kind", default="bpe", choices=("bpe", "wordpiece", "unigram", "char"),
                   help="bpe (byte-level), wordpiece (BERT), unigram (SentencePiece) or char (default: bpe)")
    t.add_argument("--vocab-size", type=int, default=32000, help="vocabulary size (default: 32000)")
    t.add_argument("--min-frequency", type=int, default=2, help="rarest pair/piece kept (default: 2)")
    t.add_argument("--max-token-length", type=int, default=16, help="longest token in characters (default: 16)")
    t.add_argument("--lowercase", action="store_true", help="wordpiece: lowercase (BERT uncased)")
    t.add_argument("--text-column", help="text column of CSV/JSONL files (detected when omitted)")
    t.add_argument("--encoding", default="utf-8", help="text encoding (default: utf-8)")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_tokenizer_train)

    p = sub.add_parser("pretrain", help="pretrain a masked or causal LM on unlabelled text (or continue one)")
    p.add_argument("corpus", nargs="+", help="text files (.txt), CSV/TSV/JSONL/Parquet text columns, or folders")
    p.add_argument("--output", "-o", required=True, help="directory for the model")
    p.add_argument("--from", dest="from_model", metavar="MODEL",
                   help="continue pretraining this model directory (all-MiniLM-L6-v2: the bundled one)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_dataclass_flags(p, PretrainConfig, skip=("from_model",))
    p.set_defaults(func=cmd_pretrain)
