"""DP-SGD with the encoder running (LoRA): a Poisson batch padded as one batch vs the same batch sorted by
length and fed as 32-row micro-batches (lmforge's default), in one run on the same data and seed.

    OMP_NUM_THREADS=2 PYTHONPATH=src python bench/dp_micro_batches.py            # ~5 min on 2 cores

Both arms make the same private step (tests/privacy: `test_micro_batches_of_a_poisson_batch_make_the_same_
private_step`); only dropout's draws differ with the row order. Prints one JSON line per arm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("LMFORGE_TRACKING", "off")

import lmforge  # noqa: E402
import lmforge.training.privacy as privacy_module  # noqa: E402


def unsorted_single_batches():
    """The arm without the change: Poisson batches in sampling order, one backward per step."""
    make_private = privacy_module.make_private
    privacy_module.make_private = lambda plan, cfg, n, epochs, lengths=None: make_private(plan, cfg, n, epochs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=str(REPO / "examples" / "data" / "sst2-train-4000.tsv"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epsilon", type=float, default=8.0)
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "dp-micro"))
    args = ap.parse_args()
    for arm in ("one padded batch", "sorted 32-row micro-batches"):
        if arm == "one padded batch":
            saved = privacy_module.make_private
            unsorted_single_batches()
        started = time.perf_counter()
        run = lmforge.finetune(args.train, Path(args.out) / arm.split()[0], quiet=True, overwrite=True,
                               method="lora", lr=2e-3, epochs=args.epochs, batch_size=args.batch_size,
                               patience=0, dp_epsilon=args.epsilon)
        wall = time.perf_counter() - started
        if arm == "one padded batch":
            privacy_module.make_private = saved
        training, privacy = run.manifest["training"], run.manifest["privacy"]
        print(json.dumps({"arm": arm, "samples_per_s": training["samples_per_s"],
                          "train_loop_s": training["train_loop_s"], "padding_fraction": training["padding_fraction"],
                          "tokens_computed": training["tokens_computed"], "steps": training["steps"],
                          "epsilon_spent": privacy["epsilon_spent"], "noise_multiplier": privacy["noise_multiplier"],
                          "dev_accuracy": round(run.metrics["accuracy"], 4),
                          "dev_loss": run.manifest["metrics"]["dev"].get("dev_loss"), "wall_s": round(wall, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
