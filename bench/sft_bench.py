"""SFT benchmark: LoRA on the bitext customer-support pairs (10% held out), ROUGE-L and EOS share of the
tuned model against the untuned SmolLM2 on the same held-out prompts, in one run.

    PYTHONPATH=src python bench/sft_bench.py --max-examples 200 --eval-generate 10 > bench/out/sft.log 2>&1

The full 4,062-pair epoch is not feasible on a loaded 2-core machine (see RESULTS.md); --max-examples sets
the budget, and the printed JSON says what was run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lmforge.generation.sft import (SFTConfig, finetune_sft, generation_metrics, heldout_loss,  # noqa: E402
                                   split_conversations)
from lmforge.generation.sft_data import load_conversations, tokenize_conversation  # noqa: E402

SHARED = Path(os.environ.get("LMFORGE_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DATA = SHARED / "bitext_support/Bitext_Sample_Customer_Support_Training_Dataset.csv"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--output", default="/tmp/lmf_sft_bitext")
    p.add_argument("--max-examples", type=int, default=120)
    p.add_argument("--eval-generate", type=int, default=6)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", default="auto", help="fp32, bf16 (CPUs with AVX512-BF16/AMX) or auto")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--eval-every", type=int, default=0, help="held-out loss every N steps (a learning curve)")
    p.add_argument("--lr", type=float, default=None, help="default: SFTConfig's (LoRA 2e-4)")
    p.add_argument("--max-eval-examples", type=int, default=48)
    p.add_argument("--evaluate", help="only score an SFT output directory on the same held-out prompts")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM

    from lmforge.generation.convert import bundled_chat_model_dir
    from lmforge.models.pretrained import load_tokenizer

    conversations = load_conversations(args.data)
    _, held = split_conversations(conversations, 0.1, 0)
    base_dir = bundled_chat_model_dir()
    if args.evaluate:
        tokenizer = load_tokenizer(Path(args.evaluate))
        model = AutoModelForCausalLM.from_pretrained(args.evaluate).eval()
        scored = [tokenize_conversation(tokenizer, c, args.max_length) for c in held[:args.max_eval_examples]]
        metrics = heldout_loss(model, scored, tokenizer.pad_token_id)
        metrics.pop("neg_loss")
        metrics.update(generation_metrics(model, tokenizer, held[:args.eval_generate], args.max_new_tokens, int8=True))
        print(json.dumps({"evaluated": args.evaluate, "metrics": metrics}, ensure_ascii=False, indent=1), flush=True)
        return
    t0 = time.perf_counter()
    base_model, base_tokenizer = AutoModelForCausalLM.from_pretrained(base_dir).eval(), load_tokenizer(base_dir)
    scored = [tokenize_conversation(base_tokenizer, c, args.max_length) for c in held[:args.max_eval_examples]]
    base = heldout_loss(base_model, scored, base_tokenizer.pad_token_id)
    base.pop("neg_loss")
    base.update(generation_metrics(base_model, base_tokenizer, held[:args.eval_generate], args.max_new_tokens,
                                   int8=True))
    base_s = time.perf_counter() - t0
    print(json.dumps({"untuned": base, "seconds": round(base_s, 1)}, ensure_ascii=False), flush=True)
    cfg = SFTConfig(lr=args.lr, max_examples=args.max_examples, eval_generate=args.eval_generate,
                    max_new_tokens=args.max_new_tokens, max_length=args.max_length, threads=args.threads,
                    precision=args.precision, batch_size=args.batch_size, eval_every=args.eval_every,
                    max_eval_examples=args.max_eval_examples, eval_int8=True)
    t0 = time.perf_counter()
    manifest = finetune_sft(args.data, args.output, cfg, quiet=False, overwrite=True)
    tuned = manifest["metrics"]["heldout"]
    print(json.dumps({"rows": len(conversations), "held_out": len(held), "trained_examples": manifest["data"]["examples"],
                      "train": manifest["training"], "sft_wall_s": round(time.perf_counter() - t0, 1),
                      "tuned": tuned, "untuned_rougeL": base["rougeL"], "untuned_ends_with_eos": base["ends_with_eos"],
                      "history": manifest["history"]}, ensure_ascii=False, indent=1), flush=True)


if __name__ == "__main__":
    main()
