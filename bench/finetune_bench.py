"""Fine-tuning speed and accuracy: lmforge against the Hugging Face Trainer, same model, data and settings.

Same base model (the bundled all-MiniLM-L6-v2), the first 4000 sentences of SST-2 train, batch size 32,
one epoch, evaluated on the 872 SST-2 test sentences:

    (a) HF Trainer, padding every batch to 128 tokens (the common tutorial path)
    (b) HF Trainer with dynamic padding (DataCollatorWithPadding)
    (c) lmforge --method full      (d) lmforge --method lora      (e) lmforge --method head

Each variant runs in its own process (so peak memory is its own), one after the other, in one run:

    .venv/bin/python bench/finetune_bench.py [--rows 4000] [--variants a,b,c,d,e] [--out bench/out/finetune]

lmforge gets a 500-sentence dev set (the first rows of SST-2 dev.tsv) for its per-epoch evaluation and best
checkpoint; the Trainer runs without evaluation, so lmforge's timings include work the Trainer's skip.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LMFORGE_SHARED_DATA", REPO.parent / "shared" / "data")) / "sst2"
VARIANTS = {
    "a": "HF Trainer, pad to 128",
    "b": "HF Trainer, dynamic padding",
    "c": "lmforge full",
    "d": "lmforge lora",
    "e": "lmforge head",
}


def read_tsv(path: Path, limit: int | None = None) -> tuple[list[str], list[int]]:
    from lmforge.data.examples import load_labeled_texts

    data = load_labeled_texts(path)
    texts, labels = data.texts[:limit], [int(x) for x in data.labels[:limit]]
    return texts, labels


def run_hf(variant: str, rows: int, out: Path) -> dict:
    import numpy as np
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)
    from transformers.utils import logging as hf_logging

    from lmforge.models.pretrained import bundled_model_dir

    hf_logging.set_verbosity_error()
    t0 = time.perf_counter()
    model_dir = bundled_model_dir()
    texts, labels = read_tsv(DATA / "train.tsv", rows)
    test_texts, test_labels = read_tsv(DATA / "test.tsv")
    tok = AutoTokenizer.from_pretrained(model_dir)
    pad = variant == "a"
    kwargs = dict(truncation=True, max_length=128, padding="max_length" if pad else False)
    def examples(texts, labels):
        encoded = tok(texts, **kwargs)
        return [{**{k: v[i] for k, v in encoded.items()}, "labels": labels[i]} for i in range(len(texts))]

    train, test = examples(texts, labels), examples(test_texts, test_labels)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    args = TrainingArguments(output_dir=str(out / f"hf-{variant}"), per_device_train_batch_size=32,
                             per_device_eval_batch_size=64, num_train_epochs=1, seed=0, report_to="none",
                             save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=train,
                      data_collator=None if pad else DataCollatorWithPadding(tok))
    result = trainer.train()
    train_s = result.metrics["train_runtime"]
    logits = trainer.predict(test).predictions
    accuracy = float(np.mean(np.argmax(logits, -1) == np.array(test_labels)))
    return {"train_s": train_s, "samples_per_s": rows / train_s, "accuracy": accuracy,
            "wall_s": time.perf_counter() - t0}


def run_lmforge(variant: str, rows: int, out: Path) -> dict:
    import numpy as np

    import lmforge
    from lmforge.inference.predictor import Predictor

    t0 = time.perf_counter()
    method = {"c": "full", "d": "lora", "e": "head"}[variant]
    train_file, dev_file = out / "train.tsv", out / "dev.tsv"
    result = lmforge.finetune(train_file, out / f"lmforge-{method}", dev_file, method=method, epochs=1,
                              batch_size=32, overwrite=True, quiet=True)
    texts, labels = read_tsv(DATA / "test.tsv")
    predictor = Predictor.load(result.output)
    pred = predictor.predict_proba(texts).argmax(-1)
    names = predictor.labels
    accuracy = float(np.mean([int(names[p]) == y for p, y in zip(pred, labels)]))
    wall = time.perf_counter() - t0
    training = result.manifest["training"]
    return {"train_s": training["train_loop_s"] + training["setup_s"], "samples_per_s": training["samples_per_s"],
            "accuracy": accuracy,
            "wall_s": wall, "padding_fraction": training["padding_fraction"]}


def child(variant: str, rows: int, out: Path) -> None:
    runner = run_hf if variant in "ab" else run_lmforge
    record = runner(variant, rows, out)
    record["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(record))


def write_inputs(out: Path, rows: int) -> None:
    """The exact training rows and the lmforge dev rows, as files (lmforge reads files)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, src, n in (("train.tsv", DATA / "train.tsv", rows), ("dev.tsv", DATA / "dev.tsv", 500)):
        lines = (src).read_text().splitlines(keepends=True)
        (out / name).write_text("".join(lines[:n + 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--variants", default="a,b,c,d,e")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "finetune")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.out)
        return

    write_inputs(args.out, args.rows)
    results = {}
    for variant in args.variants.split(","):
        print(f"running ({variant}) {VARIANTS[variant]} …", flush=True)
        proc = subprocess.run([sys.executable, __file__, "--child", variant, "--rows", str(args.rows),
                               "--out", str(args.out)], capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"variant {variant} failed")
        results[variant] = json.loads(line[len("RESULT "):])
        print(f"    {results[variant]}", flush=True)

    base = results.get("b")
    print(f"\nSST-2, first {args.rows} train sentences, batch 32, 1 epoch; accuracy on the 872 test sentences")
    print("| variant | samples/s (training) | × (b) | wall s (load, train, test) | test accuracy | Δ vs (b), points | "
          "peak memory MB |")
    print("|---|---|---|---|---|---|---|")
    for v, r in results.items():
        ratio = f"{r['samples_per_s'] / base['samples_per_s']:.2f}" if base else "–"
        delta = f"{100 * (r['accuracy'] - base['accuracy']):+.1f}" if base else "–"
        print(f"| ({v}) {VARIANTS[v]} | {r['samples_per_s']:.1f} | {ratio} | {r['wall_s']:.0f} | "
              f"{100 * r['accuracy']:.1f}% | {delta} | {r['peak_memory_mb']:.0f} |")
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
