"""Accuracy vs ε with DP-SGD (Opacus) on 4,000 SST-2 sentences (examples/data), evaluated on the 872 SST-2
test sentences, all arms in one run with the same hyper-parameters; ε = ∞ is the same recipe without DP.

    PYTHONPATH=src .venv/bin/python bench/dp_finetune.py --method head [--epsilons 1,3,8] [--out bench/out/dp]
        [--train FILE --test FILE] [--epochs N --batch-size B]   # another set; overrides apply to every arm

δ = 1/(n+1) (n = 3,600 training rows after the 10% dev hold-out). Each arm records the ε the accountant says
was spent, the noise multiplier, the training wall time and the test accuracy.
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

RECIPES = {  # the same for every ε (and for ε = ∞)
    "head": dict(method="head", epochs=30, batch_size=256, lr=1e-2, patience=0, warmup_ratio=0.0),
    "lora": dict(method="lora", epochs=3, batch_size=128, lr=2e-3, patience=0),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="head", choices=sorted(RECIPES))
    ap.add_argument("--epsilons", default="inf,8,3,1")
    ap.add_argument("--train", default=str(REPO / "examples" / "data" / "sst2-train-4000.tsv"))
    ap.add_argument("--test", default=str(REPO / "examples" / "data" / "sst2-test.tsv"))
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "dp"))
    ap.add_argument("--epochs", type=int, help="override the recipe's epochs (the same in every arm)")
    ap.add_argument("--batch-size", type=int, help="override the recipe's (expected) batch size, every arm")
    ap.add_argument("--lr", type=float, help="override the recipe's learning rate, every arm")
    ap.add_argument("--lora-alpha", type=int, help="lora: override LoRA alpha (r stays 8), every arm")
    ap.add_argument("--share-features", action="store_true", help="head: compute the frozen encoder's features "
                    "once for all arms (bench/shared_features.py; changes no number, only time)")
    args = ap.parse_args()
    if args.share_features:
        from shared_features import share_features

        share_features(REPO / "bench" / "out" / "minilm-features.pkl")
    results = []
    for eps_text in args.epsilons.split(","):
        eps = float(eps_text)
        out = Path(args.out) / f"{args.method}-eps{eps_text}"
        shutil.rmtree(out, ignore_errors=True)
        settings = dict(RECIPES[args.method])
        settings.update({k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr),
                                           ("lora_alpha", args.lora_alpha)) if v})
        if eps != float("inf"):
            settings["dp_epsilon"] = eps
        started = time.perf_counter()
        run = lmforge.finetune(args.train, out, quiet=True, **settings)
        train_s = time.perf_counter() - started
        test = lmforge.evaluate(out, args.test)
        privacy = run.manifest.get("privacy", {})
        row = {"method": args.method, "epsilon_target": eps_text, "epsilon_spent": privacy.get("epsilon_spent"),
               "delta": privacy.get("delta"), "noise_multiplier": privacy.get("noise_multiplier"),
               "steps": run.manifest["training"]["steps"], "train_wall_s": round(train_s, 1),
               "dev_accuracy": round(run.metrics["accuracy"], 4), "test_accuracy": round(test["accuracy"], 4),
               "settings": settings}
        print(json.dumps(row), flush=True)
        results.append(row)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"results-{args.method}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
