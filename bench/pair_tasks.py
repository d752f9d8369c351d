"""Regression and sentence-pair tasks on real data with the bundled MiniLM (issue 11), defaults otherwise.

    PYTHONPATH=src python bench/pair_tasks.py [--stsb-train-rows 2000] [--lcqmc-test-rows 0]

STS-B: pair-regression on a seeded random subset of train, evaluated on dev and test (Pearson, Spearman).
LCQMC: pair-classification trained on dev.txt (the only labelled rows here; a dev split is held out of it),
evaluated on test.txt (accuracy). Prints one JSON line per run; the models go to bench/out/.
"""

import argparse
import json
import random
import time
from pathlib import Path

import lmforge

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")
OUT = Path(__file__).resolve().parent / "out" / "pair_tasks"


def subset(source: Path, rows: int, seed: int, target: Path) -> Path:
    header, *lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(seed).shuffle(lines)
    target.write_text(header + "".join(lines[:rows] if rows else lines), encoding="utf-8")
    return target


def run(name: str, task: str, train: Path, evals: dict[str, Path], keys: tuple[str, ...], **settings) -> dict:
    model = OUT / name
    t0 = time.perf_counter()
    result = lmforge.api.finetune(train, model, task=task, overwrite=True, quiet=True, **settings)
    record = {"run": name, "task": task, "train": str(train), "train_rows": result.manifest["inputs"]["train"]["rows"],
              "finetune_s": round(time.perf_counter() - t0, 1), "dev_during_training": result.metrics}
    for split, path in evals.items():
        t0 = time.perf_counter()
        metrics = lmforge.api.evaluate(model, path, OUT / f"{name}-eval-{split}")
        record[split] = {k: round(metrics[k], 4) for k in keys} | {"examples": metrics["examples"],
                                                                  "evaluate_s": round(time.perf_counter() - t0, 1)}
    print(json.dumps(record), flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stsb-train-rows", type=int, default=2000, help="0: all 5,749")
    parser.add_argument("--skip", choices=["stsb", "lcqmc"], action="append", default=[])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if "stsb" not in args.skip:
        train = subset(DATA / "stsb" / "train.tsv", args.stsb_train_rows, 0, OUT / "stsb-train-subset.tsv")
        run("stsb", "pair-regression", train, {"dev": DATA / "stsb" / "dev.tsv", "test": DATA / "stsb" / "test.tsv"},
            ("spearman", "pearson", "mae", "rmse"), dev=DATA / "stsb" / "dev.tsv")
    if "lcqmc" not in args.skip:
        run("lcqmc", "pair-classification", DATA / "lcqmc" / "dev.txt", {"test": DATA / "lcqmc" / "test.txt"},
            ("accuracy", "macro_f1"))


if __name__ == "__main__":
    main()
