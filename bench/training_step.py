"""One training step of MiniLM on SST-2: the transformers forward against lmforge's training forward.

Same model, same length-bucketed batches of 32, same loss, AdamW and clipping; only the forward differs:

    transformers     model(**batch).logits (SDPA attention, torch dropout)
    cls-only         lmforge's forward with the last layer for [CLS] only, torch's dropout (F.dropout)
    lmforge          lmforge's forward as trained: [CLS]-only last layer and PCG64 dropout masks

The variants alternate in rounds in one process (median of --rounds), so drift on a shared machine hits
all of them alike. Then the dropout masks alone: ``F.dropout`` against lmforge's on a hidden-state tensor of
a typical SST-2 batch (32 x 25 x 384), and with ``--profile`` the share of a cls-only step (torch dropout)
that ``torch.profiler`` attributes to each op:

    .venv/bin/python bench/training_step.py [--rows 4000] [--steps 40] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import lmforge.models.cls_forward as cls_forward
from lmforge.data.batching import length_bucketed_batches, pad_batch
from lmforge.data.examples import load_labeled_texts
from lmforge.models.pretrained import bundled_model_dir, load_sequence_classifier, load_tokenizer
from lmforge.training.finetune import configure_threads
from lmforge.training.loop import make_optimizer

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LMFORGE_SHARED_DATA", REPO.parent / "shared" / "data")) / "sst2"
FAST_DROPOUT = cls_forward.dropout


def torch_dropout(x, p, training):
    return F.dropout(x, p, training=training)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=40, help="steps per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile 20 cls-only steps (torch dropout)")
    args = parser.parse_args()

    threads = configure_threads(None)
    data = load_labeled_texts(DATA / "train.tsv")
    labels = torch.tensor([int(x) for x in data.labels[:args.rows]])
    model_dir = bundled_model_dir()
    ids = load_tokenizer(model_dir)(data.texts[:args.rows], truncation=True, max_length=128)["input_ids"]
    torch.manual_seed(0)
    model, _ = load_sequence_classifier(model_dir, ["0", "1"])
    model.get_input_embeddings().weight.requires_grad_(False)  # as lmforge trains (freeze_embeddings)
    model.train()
    optimizer = make_optimizer(model, 5e-5, 0.01)
    params = [p for p in model.parameters() if p.requires_grad]
    batches = length_bucketed_batches([len(x) for x in ids], 32, 0, 0)

    def forward(variant, batch):
        if variant == "transformers":
            return model(**batch).logits
        cls_forward.dropout = FAST_DROPOUT if variant == "lmforge" else torch_dropout
        return cls_forward.cls_logits(model, batch["input_ids"], batch["attention_mask"])

    def run(variant, steps, offset):
        samples, start = 0, time.perf_counter()
        for b in batches[offset:offset + steps]:
            batch = pad_batch([ids[i] for i in b], 0)
            loss = F.cross_entropy(forward(variant, batch), labels[b], reduction="sum") / 32
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            samples += len(b)
        return samples / (time.perf_counter() - start)

    variants = ["transformers", "cls-only", "lmforge"]
    for v in variants:
        run(v, 3, 0)  # warm-up
    speeds = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:  # every variant runs the same batches in a round
            speeds[v].append(run(v, args.steps, 3 + r * args.steps))
    base = statistics.median(speeds["transformers"])
    print(f"MiniLM, SST-2 first {args.rows} sentences, batch 32, {threads} threads; "
          f"{args.steps} steps x {args.rounds} rounds per variant")
    print("| training forward | samples/s (median) | × transformers | rounds |")
    print("|---|---:|---:|---|")
    for v in variants:
        median = statistics.median(speeds[v])
        print(f"| {v} | {median:.1f} | {median / base:.2f} | {', '.join(f'{s:.0f}' for s in speeds[v])} |")

    x = torch.randn(32, 25, 384)
    mask_us = {}
    for name, fn in (("F.dropout", torch_dropout), ("lmforge dropout", FAST_DROPOUT)):
        fn(x, 0.1, True)
        start = time.perf_counter()
        for _ in range(200):
            fn(x, 0.1, True)
        mask_us[name] = (time.perf_counter() - start) / 200 * 1e6
    print(f"\ndropout on (32, 25, 384), p=0.1: F.dropout {mask_us['F.dropout']:.0f} us, lmforge "
          f"{mask_us['lmforge dropout']:.0f} us ({mask_us['F.dropout'] / mask_us['lmforge dropout']:.2f}x)")

    if args.profile:
        from torch.profiler import profile

        with profile() as prof:
            run("cls-only", 20, 3)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    cls_forward.dropout = FAST_DROPOUT


if __name__ == "__main__":
    main()
