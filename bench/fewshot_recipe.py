"""Old fixed defaults vs the adaptive recipe, both arms in one run, on a few-shot intent task that fits a
shared 2-core machine: Banking77 train.csv, 20 rows per class for training and 10 other rows per class as
dev (seeded; the test split is not used to choose anything).

    python bench/fewshot_recipe.py [rows_per_class] [dev_per_class]

Arms: "adaptive" = FinetuneConfig() (everything chosen from the data); "fixed" = the defaults before
issue 10 (2 epochs, lr 5e-5 everywhere, bottom sixth frozen, max_length 128, head truncation).
Appends one JSON line per arm to bench/out/fewshot_recipe.jsonl.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from lmforge.config import FinetuneConfig
from lmforge.training.finetune import finetune

OUT = Path(__file__).resolve().parent / "out" / "fewshot"
SOURCE = Path("/work/shared/data/banking77/train.csv")
FIXED = dict(epochs=2, lr=5e-5, head_lr=5e-5, freeze_layers=1, max_length=128, truncation="head")


def subsample(per_class: int, dev_per_class: int, seed: int = 0) -> tuple[Path, Path]:
    with open(SOURCE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by = defaultdict(list)
    for r in rows:
        by[r["category"]].append(r)
    rng = np.random.default_rng(seed)
    train, dev = [], []
    for label in sorted(by):
        picked = rng.permutation(len(by[label]))
        train += [by[label][i] for i in picked[:per_class]]
        dev += [by[label][i] for i in picked[per_class:per_class + dev_per_class]]
    OUT.mkdir(parents=True, exist_ok=True)
    paths = OUT / f"train{per_class}.csv", OUT / f"dev{dev_per_class}.csv"
    for path, part in zip(paths, (train, dev)):
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["text", "category"])
            w.writeheader()
            w.writerows({"text": r["text"], "category": r["category"]} for r in part)
    return paths


def main(per_class: int = 20, dev_per_class: int = 10) -> None:
    train, dev = subsample(per_class, dev_per_class)
    for arm, settings in (("adaptive", {}), ("fixed", FIXED)):
        t0 = time.time()
        result = finetune(train, OUT / arm, dev, FinetuneConfig(threads=1, **settings), overwrite=True, quiet=True)
        m = result.manifest
        record = {"arm": arm, "rows_per_class": per_class, "dev_per_class": dev_per_class,
                  "dev_accuracy": m["metrics"]["dev"]["accuracy"], "dev_macro_f1": m["metrics"]["dev"]["macro_f1"],
                  "history": [(h["epoch"], h["accuracy"]) for h in m["metrics"]["history"]],
                  "baseline_dev_accuracy": m["baseline"].get("accuracy"), "baseline_features": m["baseline"].get("features"),
                  "verdict": m["verdict"]["winner"], "calibration": m["calibration"], "wall_s": round(time.time() - t0, 1),
                  "config": {k: m["config"][k] for k in ("epochs", "lr", "head_lr", "freeze_layers", "max_length")},
                  "finished_utc": time.strftime("%H:%M:%S", time.gmtime())}
        with open(OUT.parent / "fewshot_recipe.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
