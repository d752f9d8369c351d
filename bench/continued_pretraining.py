"""Does continued (domain-adaptive) pretraining of the bundled MiniLM pay on Chinese reviews?

    python bench/continued_pretraining.py --sets waimai10k --seeds 0 1 2 [--precision bf16]

1. `lmforge pretrain --from all-MiniLM-L6-v2 --objective mlm` on the review texts of the suite's training
   splits of Waimai 10k and online_shopping (labels unused; the test splits are never read).
2. For each set and seed, the default `lmforge finetune` from the bundled MiniLM and from the adapted model,
   then `lmforge evaluate` on the set's test split (the suite's seeded stratified 80/20 split).
Mean and spread of test accuracy per arm. Both fine-tune arms use the same `--precision`; the MLM runs at
fp32. Each finished fine-tune is written to --out at once, and a rerun skips it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import lmforge  # noqa: E402
from quality_data import datasets  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["waimai10k", "online_shopping7"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--mlm-steps", type=int, default=600)  # ~1.4 passes over the 1.7M corpus tokens
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--arms", nargs="+", default=["bundled", "adapted"], choices=["bundled", "adapted"],
                        help="which fine-tunes to run (two processes can split them)")
    parser.add_argument("--threads", default=None, help="torch threads per fine-tune (default: physical cores)")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "dapt")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "dapt.json")
    args = parser.parse_args()
    sets = datasets()
    corpus = [str(sets["waimai10k"]["train"]), str(sets["online_shopping7"]["train"])]
    adapted = args.work / "minilm-reviews"
    previous = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"corpus": corpus, "mlm_steps": args.mlm_steps, "precision": args.precision, "runs": []}
    if not (adapted / "manifest.json").exists():
        result["mlm_wall_s"] = round(lmforge(
            "pretrain", *corpus, "--from", "all-MiniLM-L6-v2", "--objective", "mlm", "--output", str(adapted),
            "--max-steps", str(args.mlm_steps), "--overwrite", "--quiet", quiet=True), 1)  # MLM at fp32: see pretrain
    mlm = json.loads((adapted / "manifest.json").read_text())
    result["mlm"] = {"val": mlm["metrics"]["val"], "history": mlm["metrics"]["history"],
                     "tokens_seen": mlm["training"]["tokens_seen"], "tokenizer": mlm["tokenizer"],
                     "embedding_lr_scale": mlm.get("embedding_lr_scale")}
    print("MLM:", result["mlm"]["history"], flush=True)
    for name in args.sets:
        for seed in args.seeds:
            for arm, model in (("bundled", []), ("adapted", ["--model", str(adapted)])):
                if arm not in args.arms:
                    continue
                out = args.work / f"{name}-{arm}-{seed}"
                done = [r for r in previous if (r["set"], r["arm"], r["seed"]) == (name, arm, seed)]
                if done and (out / "eval-test" / "metrics.json").exists():  # a rerun continues where it stopped
                    result["runs"].append(done[0])
                    continue
                wall = lmforge("finetune", str(sets[name]["train"]), "--output", str(out), *model, "--seed",
                               str(seed), "--precision", args.precision, "--overwrite", "--quiet",
                               *(["--threads", args.threads] if args.threads else []), quiet=True)
                lmforge("evaluate", str(out), str(sets[name]["test"]), "--output", str(out / "eval-test"), quiet=True)
                test = json.loads((out / "eval-test" / "metrics.json").read_text())["accuracy"]
                dev = json.loads((out / "manifest.json").read_text())["metrics"]["dev"]["accuracy"]
                run = {"set": name, "arm": arm, "seed": seed, "dev": dev, "test": test, "finetune_s": round(wall, 1)}
                result["runs"].append(run)
                print(run, flush=True)
                args.out.write_text(json.dumps(result, indent=2))
    summary = {}
    for name in args.sets:
        for arm in ("bundled", "adapted"):
            tests = [r["test"] for r in result["runs"] if r["set"] == name and r["arm"] == arm]
            if not tests:
                continue
            summary[f"{name}/{arm}"] = {"mean": statistics.mean(tests),
                                        "stdev": statistics.stdev(tests) if len(tests) > 1 else 0.0, "n": len(tests)}
    result["summary"] = summary
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
