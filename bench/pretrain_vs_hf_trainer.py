"""Causal-LM training throughput: lmforge pretrain vs the Hugging Face Trainer, same GPT-2 config and data.

    python bench/pretrain_vs_hf_trainer.py --threads 1 --steps 300 [--precision bf16]

Both train transformers' GPT2LMHeadModel (SDPA attention) of the same shape on the same packed blocks of
Tiny Shakespeare (character level, lmforge's char tokenizer), batch, learning rate and schedule, in one
run on the same thread count; the two arms run at the same time (one process each), so on a machine
shared with other jobs both see the same load. The Trainer gets the standard run_clm.py recipe: blocks of ``context``
tokens with ``labels = input_ids``, ``Trainer.train()``, no evaluation or saving. Tokens/s is training
tokens over each one's own training-loop time (Trainer: ``train_runtime``; lmforge: the loop's time,
batch building included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = next(p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir())  # ../shared (or ../../)
CORPUS = SHARED / "data" / "tinyshakespeare" / "input.txt"


def trainer_arm(args, work: Path) -> dict:
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, Trainer, TrainingArguments

    sys.path.insert(0, str(REPO / "src"))
    from lmforge.pretraining.tokenizer_training import train_tokenizer

    torch.set_num_threads(args.threads)
    train_tokenizer([CORPUS], work / "tok", kind="char")
    tok = AutoTokenizer.from_pretrained(work / "tok")
    ids = np.asarray(tok(CORPUS.read_text(), add_special_tokens=False).input_ids, dtype=np.int64)
    ids = ids[: int(len(ids) * 0.9)]
    n_blocks = len(ids) // args.context
    blocks = torch.from_numpy(ids[: n_blocks * args.context].reshape(n_blocks, args.context))

    class Blocks(torch.utils.data.Dataset):  # run_clm.py's group_texts: labels are the inputs
        def __len__(self):
            return n_blocks

        def __getitem__(self, i):
            return {"input_ids": blocks[i], "labels": blocks[i]}

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tok), n_positions=args.context, n_embd=args.width, n_layer=args.layers,
                        n_head=args.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    training_args = TrainingArguments(
        output_dir=str(work / "trainer"), per_device_train_batch_size=args.batch_size, max_steps=args.steps,
        learning_rate=args.lr, weight_decay=0.1, adam_beta2=0.99, warmup_steps=int(0.05 * args.steps), lr_scheduler_type="linear",
        max_grad_norm=1.0, logging_steps=10**6, save_strategy="no", eval_strategy="no", report_to=[],
        use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, seed=0, bf16=args.precision == "bf16")
    trainer = Trainer(model=model, args=training_args, train_dataset=Blocks())
    metrics = trainer.train().metrics
    tokens = args.steps * args.batch_size * args.context
    return {"train_runtime_s": round(metrics["train_runtime"], 2), "tokens": tokens,
            "tokens_per_s": round(tokens / metrics["train_runtime"], 1), "train_loss": round(metrics["train_loss"], 4)}


def lmforge_cmd(args, out: Path) -> list[str]:
    return [sys.executable, "-m", "lmforge", "pretrain", str(CORPUS), "--output", str(out), "--objective", "clm",
            "--tokenizer", "char", "--arch", "gpt2", "--layers", str(args.layers), "--heads", str(args.heads),
            "--width", str(args.width), "--context", str(args.context), "--dropout", "0", "--batch-size",
            str(args.batch_size), "--max-steps", str(args.steps), "--lr", str(args.lr), "--eval-every",
            str(args.steps), "--eval-batches", "1", "--checkpoint-every", str(10 * args.steps), "--threads",
            str(args.threads), "--precision", args.precision, "--quiet"]


def lmforge_result(out: Path) -> dict:
    training = json.loads((out / "manifest.json").read_text())["training"]
    return {"train_loop_s": training["train_loop_s"], "tokens": training["tokens_seen"],
            "tokens_per_s": training["tokens_per_s"], "mfu": training["mfu"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="both arms (bf16: autocast, the Trainer's bf16=True; needs a CPU with native bf16)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "pretrain_vs_hf_trainer.json")
    parser.add_argument("--arm", choices=("both", "trainer"), default="both", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = {"settings": {k: v for k, v in vars(args).items() if k not in ("arm", "out")},
               "load_average_start": os.getloadavg()}
    if args.arm == "trainer":  # the child process of the Trainer arm
        with tempfile.TemporaryDirectory(prefix="lmf-trainer-") as tmp:
            args.out.write_text(json.dumps(trainer_arm(args, Path(tmp))))
        return
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "LMFORGE_TRACKING": "off"}
    with tempfile.TemporaryDirectory(prefix="lmf-trainer-") as tmp:
        trainer_out = Path(tmp) / "trainer.json"
        child = [sys.executable, __file__, "--arm", "trainer", "--out", str(trainer_out),
                 *[f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k not in ("arm", "out")]]
        trainer = subprocess.Popen(child, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ours = subprocess.Popen(lmforge_cmd(args, Path(tmp) / "lmforge"), env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if trainer.wait() or ours.wait():
            raise RuntimeError("an arm failed; rerun it alone to see why")
        results["hf_trainer"] = json.loads(trainer_out.read_text())
        results["lmforge"] = lmforge_result(Path(tmp) / "lmforge")
    print("HF Trainer", results["hf_trainer"], "\nlmforge", results["lmforge"], flush=True)
    results["tokens_per_s_ratio"] = round(results["lmforge"]["tokens_per_s"] / results["hf_trainer"]["tokens_per_s"], 3)
    results["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"tokens/s ratio lmforge / HF Trainer: {results['tokens_per_s_ratio']} (goal >= 2)")


if __name__ == "__main__":
    main()
