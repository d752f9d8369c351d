"""The best validation loss `lmforge pretrain` reaches on Tiny Shakespeare (character level) in a wall-time
budget (issue 12: 20 minutes on the 2-core machine, goal ≤ 1.55), with samples from the model.

    python bench/pretrain_budget.py --minutes 20 --out bench/out/pretrain_budget.json

The budget covers everything: a short calibration run measures this machine's tokens/s and start-up cost for
the chosen shape, the step count is set so the real run (start-up, training, its validation passes over the
whole 10% split, saving) ends inside what is left, then the real run trains. Samples come from
`lmforge generate` on the saved model (temperature 0.8, top-k 40, fixed seed), outside the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = next(p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir())
CORPUS = SHARED / "data" / "tinyshakespeare" / "input.txt"
CALIBRATION_STEPS = 40
EVALUATIONS = 5
VAL_TOKENS = 111_540  # the 10% validation split of input.txt, characters
SAFETY = 0.95  # share of the remaining budget the real run plans to use


def pretrain(out: Path, args, steps: int, env: dict) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "lmforge", "pretrain", str(CORPUS), "--output", str(out), "--overwrite",
           "--objective", "clm", "--tokenizer", "char", "--arch", args.arch, "--layers", str(args.layers),
           "--heads", str(args.heads), "--width", str(args.width), "--context", str(args.context),
           "--dropout", str(args.dropout), "--batch-size", str(args.batch_size), "--max-steps", str(steps),
           "--lr", str(args.lr), "--eval-every", str(max(1, steps // EVALUATIONS)),
           "--checkpoint-every", str(10 * steps), "--threads", str(args.threads), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, json.loads((out / "manifest.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--arch", default="llama", choices=("gpt2", "llama"))
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the trained model here")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "pretrain_budget.json")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "LMFORGE_TRACKING": "off", "HF_HUB_OFFLINE": "1"}
    budget = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="lmf-budget-") as tmp:
        started = time.perf_counter()
        cal_wall, cal = pretrain(Path(tmp) / "calibration", args, CALIBRATION_STEPS, env)
        tokens_s = cal["training"]["tokens_per_s"]
        evals = EVALUATIONS + 1
        # start-up, the calibration's evaluations and saving: what a run costs besides its steps
        fixed = cal_wall - cal["training"]["train_loop_s"]
        left = budget - (time.perf_counter() - started)
        eval_s = evals * VAL_TOKENS / (3 * tokens_s)  # a forward pass costs about a third of a training step
        steps = int(SAFETY * (left - fixed - eval_s) * tokens_s / (args.batch_size * args.context))
        print(f"calibration: {tokens_s:.0f} tokens/s, {fixed:.1f} s fixed; {left:.0f} s left → {steps} steps",
              flush=True)
        out = args.keep or Path(tmp) / "run"
        wall, manifest = pretrain(out, args, steps, env)
        total = time.perf_counter() - started
        sample = subprocess.run([sys.executable, "-m", "lmforge", "generate", str(out), "ROMEO:", "--raw",
                                 "--max-tokens", "400", "--temperature", "0.8", "--top-k", "40", "--seed", "0"],
                                env=env, cwd=REPO, check=True, capture_output=True, text=True).stdout
    history = manifest["metrics"].get("history", [])
    result = {"budget_s": budget, "total_wall_s": round(total, 1), "run_wall_s": round(wall, 1),
              "calibration": {"wall_s": round(cal_wall, 1), "tokens_per_s": tokens_s},
              "shape": {k: getattr(args, k) for k in ("arch", "layers", "heads", "width", "context")},
              "recipe": {"batch_size": args.batch_size, "lr": args.lr, "dropout": args.dropout, "steps": steps},
              "tokens_seen": manifest["training"]["tokens_seen"], "tokens_per_s": manifest["training"]["tokens_per_s"],
              "mfu": manifest["training"].get("mfu"), "val_loss": manifest["metrics"]["val"]["val_loss"],
              "history": history, "sample": sample, "threads": args.threads, "load_average_end": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k not in ("history", "sample")}), flush=True)
    print(sample)


if __name__ == "__main__":
    main()
