"""``lmforge generate MODEL "prompt"`` and ``lmforge chat MODEL``: parse, load, stream to the terminal."""

from __future__ import annotations

import sys


def _params(args):
    from lmforge.generation.sampling import SamplingParams

    return SamplingParams(max_tokens=args.max_tokens, temperature=args.temperature, top_k=args.top_k,
                          top_p=args.top_p, repetition_penalty=args.repetition_penalty, stop=args.stop or [],
                          seed=args.seed).validate()


def _engine(args):
    import torch

    from lmforge.generation.engine import GenerationEngine

    if args.threads:
        torch.set_num_threads(args.threads)
    return GenerationEngine.load(args.model, int8=args.int8, slots=1)


def cmd_generate(args) -> None:
    import time

    params = _params(args)
    engine = _engine(args)
    if args.raw:
        ids = engine.prompt_ids(args.prompt)
    else:
        ids = engine.chat_ids([*([{"role": "system", "content": args.system}] if args.system else []),
                               {"role": "user", "content": args.prompt}])
    started, tokens = time.perf_counter(), 0
    for chunk in engine.stream(ids, params, slide=args.raw):  # a completion may run past the context
        tokens += chunk.token is not None
        print(chunk.text, end="", flush=True)
    elapsed = time.perf_counter() - started
    print(flush=True)
    if args.stats:
        print(f"# {tokens} tokens in {elapsed:.2f} s ({tokens / elapsed:.1f} tokens/s, {engine.backend})",
              file=sys.stderr)


def cmd_chat(args) -> None:
    params = _params(args)
    engine = _engine(args)
    messages = [{"role": "system", "content": args.system}] if args.system else []
    print(f"chatting with {engine.name} ({engine.backend}); an empty line or Ctrl-D ends, /reset forgets",
          file=sys.stderr)
    while True:
        try:
            line = input("> ")
        except EOFError:
            print()
            return
        if not line.strip():
            return
        if line.strip() == "/reset":
            messages = messages[:1] if args.system else []
            continue
        messages.append({"role": "user", "content": line})
        reply = []
        for chunk in engine.stream(engine.chat_ids(messages), params):
            reply.append(chunk.text)
            print(chunk.text, end="", flush=True)
        print()
        messages.append({"role": "assistant", "content": "".join(reply)})


def cmd_sft(args) -> None:
    from lmforge.cli import dataclass_from_args
    from lmforge.generation.sft import SFTConfig, finetune_sft

    manifest = finetune_sft(args.train, args.output, dataclass_from_args(SFTConfig, args), quiet=args.quiet,
                            overwrite=args.overwrite)
    m = manifest["metrics"]["heldout"]
    shown = ", ".join(f"{k} {m[k]:.4f}" for k in ("loss", "perplexity", "rougeL", "ends_with_eos") if k in m)
    print(f"saved {args.output}  (held out: {shown})")
    print(f"{manifest['training']['tokens_per_s']} tokens/s, {manifest['wall_s']:.0f} s")


def finetune_as_sft(argv: list[str]) -> None:
    """``lmforge finetune DATA --task sft …`` is ``lmforge sft DATA …``: the same flags, SFT's defaults
    (LoRA, its learning rate) — re-parsed, so only the flags the user gave count."""
    from lmforge.cli import build_parser

    after = argv[argv.index("finetune") + 1:]  # global flags before it were applied already
    rest, i = [], 0
    while i < len(after):
        if after[i] == "--task":
            i += 2
            continue
        if not after[i].startswith("--task="):
            rest.append(after[i])
        i += 1
    args = build_parser().parse_args(["sft", *rest])
    args.func(args)


def register(subparsers) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.generation.sft_settings import SFTConfig

    p = subparsers.add_parser("sft", help="supervised fine-tuning of a causal LM on instruction/response data "
                                          "(same as `lmforge finetune DATA --task sft`)")
    p.add_argument("train", help="Alpaca JSON, chat JSONL ('messages') or CSV (instruction, response)")
    p.add_argument("--output", "-o", required=True, help="directory for the tuned model")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_dataclass_flags(p, SFTConfig)
    p.set_defaults(func=cmd_sft)

    for name, func, help_text in (
            ("generate", cmd_generate, "generate text from a prompt with a causal LM (streams to the terminal)"),
            ("chat", cmd_chat, "chat with an instruction model in the terminal (streaming, its chat template)")):
        p = subparsers.add_parser(name, help=help_text)
        p.add_argument("model", nargs="?" if name == "chat" else None, default="smollm2",
                       help="causal-LM directory, a .gguf file, or 'smollm2' (the bundled SmolLM2-135M-Instruct)")
        if name == "generate":
            p.add_argument("prompt", help="the prompt (sent through the chat template unless --raw)")
            p.add_argument("--raw", action="store_true", help="plain completion: no chat template; "
                           "it may run past the model's context (a sliding window, as nanoGPT samples)")
            p.add_argument("--stats", action="store_true", help="print tokens/s to stderr at the end")
        p.add_argument("--system", help="system message")
        p.add_argument("--max-tokens", type=int, default=256, help="most new tokens (default: 256)")
        p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default: 0)")
        p.add_argument("--top-k", type=int, default=0, help="sample from the k most probable tokens (0: all)")
        p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default: 1)")
        p.add_argument("--repetition-penalty", type=float, default=1.0, help="CTRL penalty (default: 1 = off)")
        p.add_argument("--stop", action="append", help="stop string (repeatable)")
        p.add_argument("--seed", type=int, help="seed for sampling (default: random)")
        p.add_argument("--int8", action="store_true",
                       help="decode with int8 weights: faster on CPU, slightly worse text (bench/RESULTS.md)")
        p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
        p.set_defaults(func=func)
