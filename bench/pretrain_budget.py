"""The best Tiny Shakespeare validation loss `lmforge pretrain` reaches in a fixed wall-clock budget.

    python bench/pretrain_budget.py --minutes 20 --out bench/out/budget20.json

A learning-rate schedule needs its length up front, so the budget is turned into steps the honest way:
a short calibration run of the same shape measures this machine's tokens/s and the fixed costs (start-up,
tokenization, one whole-split validation, saving), and the real run gets the steps that fit in what is
left of the budget. Both runs count against the budget: the reported wall is calibration + training, each
a whole `lmforge pretrain` process. Validation is the last 10% of the character stream (the split the
nanoGPT bench scores); samples from the final model come from `lmforge generate` with a fixed seed.

The default shape (Llama 4×4×128, context 128, batch 32, lr 3e-3) won an 8-minute, 1-thread sweep against
6×6×192, 6×4×128 and 4×4×192 (bench/RESULTS.md): at this size a step's speed matters more than width.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import lmforge  # noqa: E402

SHARED = next(p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir())
CORPUS = SHARED / "data" / "tinyshakespeare" / "input.txt"
CALIBRATION_STEPS = 40
EVALS = 4  # validations during the real run (the last one at its end)
SAFETY = 0.92  # share of the remaining budget given to training steps (a long run steps ~6% slower than its calibration)


def shape_flags(args) -> list[str]:
    return ["--objective", "clm", "--tokenizer", "char", "--arch", args.arch, "--layers", str(args.layers),
            "--heads", str(args.heads), "--width", str(args.width), "--context", str(args.context),
            "--dropout", str(args.dropout), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
            "--threads", str(args.threads), "--checkpoint-every", "1000000", "--quiet", "--overwrite"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--arch", default="llama")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "budget")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "pretrain_budget.json")
    parser.add_argument("--samples", type=int, default=2, help="samples of 500 characters from the final model")
    args = parser.parse_args()
    budget = args.minutes * 60

    calib_dir = args.work / "calibration"
    calib_wall = lmforge("pretrain", str(CORPUS), "--output", str(calib_dir), *shape_flags(args),
                         "--max-steps", str(CALIBRATION_STEPS), "--eval-every", str(CALIBRATION_STEPS),
                         threads=args.threads)
    calib = json.loads((calib_dir / "manifest.json").read_text())["training"]
    step_s = calib["train_loop_s"] / calib["steps"]
    fixed_s = calib_wall - calib["train_loop_s"]  # start-up, tokenization, one whole-split validation, save
    eval_s = fixed_s / 2  # a rough share; the real run validates EVALS times
    left = budget - calib_wall - fixed_s - (EVALS - 1) * eval_s
    steps = max(1, int(SAFETY * left / step_s))
    print(f"calibration: {step_s:.3f} s/step, {calib['tokens_per_s']:.0f} tokens/s, fixed {fixed_s:.1f} s "
          f"→ {steps} steps", flush=True)

    run_dir = args.work / "run"
    run_wall = lmforge("pretrain", str(CORPUS), "--output", str(run_dir), *shape_flags(args),
                       "--max-steps", str(steps), "--eval-every", str(max(1, steps // EVALS)), threads=args.threads)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    samples = []
    for seed in range(args.samples):
        text = subprocess.run(
            [sys.executable, "-m", "lmforge", "generate", str(run_dir), "ROMEO:", "--raw", "--max-tokens", "500",
             "--temperature", "0.8", "--top-k", "40", "--seed", str(seed)],
            check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")}).stdout
        samples.append(text)
    result = {
        "budget_s": budget, "wall_s": round(calib_wall + run_wall, 1), "calibration_wall_s": round(calib_wall, 1),
        "run_wall_s": round(run_wall, 1), "steps": steps, "shape": {k: getattr(args, k) for k in (
            "arch", "layers", "heads", "width", "context", "batch_size", "lr", "dropout", "threads")},
        "params": manifest["model"].get("parameters"), "tokens_seen": manifest["training"]["tokens_seen"],
        "tokens_per_s": manifest["training"]["tokens_per_s"], "val_loss": manifest["metrics"]["val"]["val_loss"],
        "history": [{k: h[k] for k in ("step", "val_loss") if k in h} for h in manifest["metrics"]["history"]],
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    for s in samples:
        print("-" * 60 + "\n" + s)


if __name__ == "__main__":
    main()
