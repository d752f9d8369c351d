"""Federated (Flower FedAvg) vs centralised fine-tuning at equal compute, on 4,000 SST-2 sentences
(examples/data; 10% held out as the server's dev set), test accuracy on the 872 SST-2 test sentences.

    PYTHONPATH=src .venv/bin/python bench/federated.py [--method head] [--rounds 10]

Arms: centralised (epochs = rounds × local epochs, the same example-gradient count as one federated run),
then 5 and 10 clients, IID and label-skewed (Dirichlet α = 0.5). Same batch size, learning rate and seed
everywhere. With the head method the frozen encoder's features of each distinct text are computed once and
shared by the arms (bench/shared_features.py: the same frozen MiniLM in every arm, so no number changes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("LMFORGE_TRACKING", "off")

import lmforge  # noqa: E402
from lmforge.config import FinetuneConfig  # noqa: E402
from lmforge.federated.simulation import FederatedConfig, run_federated  # noqa: E402

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="head", choices=("head", "lora"))
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--local-epochs", type=int, default=1)
    ap.add_argument("--clients", default="5,10")
    ap.add_argument("--train", default=str(REPO / "examples" / "data" / "sst2-train-4000.tsv"))
    ap.add_argument("--test", default=str(REPO / "examples" / "data" / "sst2-test.tsv"))
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "federated"))
    args = ap.parse_args()
    if args.method == "head":
        from shared_features import share_features

        share_features(REPO / "bench" / "out" / "minilm-features.pkl")
    recipe = dict(method=args.method, batch_size=32, lr=1e-2 if args.method == "head" else 1e-3, seed=0)
    out, rows = Path(args.out), []

    def record(name, run_dir, started, extra):
        test = lmforge.evaluate(run_dir, args.test)
        row = {"arm": name, "test_accuracy": round(test["accuracy"], 4), "wall_s": round(time.perf_counter() - started, 1),
               **extra}
        print(json.dumps(row), flush=True)
        rows.append(row)

    started = time.perf_counter()
    shutil.rmtree(out / "central", ignore_errors=True)
    run = lmforge.finetune(args.train, out / "central", quiet=True, patience=0, warmup_ratio=0.0,
                           epochs=args.rounds * args.local_epochs, **recipe)
    record("centralised", out / "central", started, {"dev_accuracy": round(run.metrics["accuracy"], 4),
                                                      "epochs": args.rounds * args.local_epochs})
    for clients in map(int, args.clients.split(",")):
        for partition in ("iid", "label-skew"):
            name = f"{clients}-clients-{partition}"
            shutil.rmtree(out / name, ignore_errors=True)
            started = time.perf_counter()
            result = run_federated(args.train, out / name, federated=FederatedConfig(
                clients=clients, rounds=args.rounds, local_epochs=args.local_epochs, partition=partition, alpha=0.5),
                config=FinetuneConfig(**recipe), quiet=True)
            comm = result.manifest["communication"]
            fed = result.manifest["federated"]
            record(name, out / name, started, {
                "dev_accuracy": round(result.metrics["accuracy"], 4), "rounds": args.rounds,
                "dev_by_round": [h["accuracy"] for h in result.manifest["metrics"]["history"]],
                "parameters_per_message": comm["parameters_per_message"], "bytes_per_round": comm["bytes_per_round"],
                "client_rows": fed["client_rows"], "client_label_counts": fed["client_label_counts"]})
    (out / f"results-{args.method}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
