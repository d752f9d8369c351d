"""lmforge pretrain vs nanoGPT's CPU recipe on Tiny Shakespeare (character level), in one run.

    python bench/pretrain_vs_nanogpt.py --threads 1 --out bench/out/nanogpt.json

nanoGPT runs as an outside program from a temporary copy of ../shared/peers/nanoGPT (its code never
enters lmforge): the shared input.txt is copied into that copy's data dir and its prepare.py writes the
90/10 split. Then, on the same machine and thread count:

1. nanoGPT's README recipe: 4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iterations, lr 1e-3
   cosine, eval every 250 iterations on 20 batches;
2. lmforge with the same model shape and data split, its own recipe (batch, lr, steps: the flags below),
   validation on the *whole* validation split at the end;
3. lmforge again with as many steps as fit in nanoGPT's wall time (scaled from run 2's throughput), to
   report the loss it reaches in the same time.

Wall times are whole processes, start-up and data preparation included.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NANOGPT_FLAGS = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1", "--block_size=64",
                 "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
                 "--lr_decay_iters=2000", "--dropout=0.0"]


def timed(cmd, cwd, env, log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "w") as f:
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=f, stderr=subprocess.STDOUT)
    return time.perf_counter() - t0


def run_nanogpt(work: Path, env: dict, logs: Path) -> dict:
    peer = work / "nanoGPT"
    shutil.copytree(SHARED / "peers" / "nanoGPT", peer)
    data = peer / "data" / "shakespeare_char"
    shutil.copy(SHARED / "data" / "tinyshakespeare" / "input.txt", data / "input.txt")
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, capture_output=True)
    wall = timed([sys.executable, "train.py", "config/train_shakespeare_char.py", *NANOGPT_FLAGS], peer, env,
                 logs / "nanogpt_train.log")
    text = (logs / "nanogpt_train.log").read_text()
    evals = [(int(s), float(t), float(v)) for s, t, v in
             re.findall(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)", text)]
    return {"wall_s": round(wall, 1), "val_loss": evals[-1][2], "evals": evals}


def lmforge_cmd(corpus: Path, out: Path, args, steps: int) -> list[str]:
    return [sys.executable, "-m", "lmforge", "pretrain", str(corpus), "--output", str(out), "--overwrite",
            "--objective", "clm", "--tokenizer", "char", "--layers", "4", "--heads", "4", "--width", "128",
            "--context", "64", "--dropout", "0", "--batch-size", str(args.batch_size), "--max-steps", str(steps),
            "--lr", str(args.lr), "--warmup-ratio", str(args.warmup_ratio), "--eval-every", str(steps),
            "--checkpoint-every", str(10 * steps), "--threads", str(args.threads), "--quiet"]


def run_lmforge(work: Path, env: dict, logs: Path, args, steps: int, name: str) -> dict:
    corpus = work / "input.txt"
    if not corpus.exists():
        shutil.copy(SHARED / "data" / "tinyshakespeare" / "input.txt", corpus)
    out = work / name
    wall = timed(lmforge_cmd(corpus, out, args, steps), REPO, env, logs / f"{name}.log")
    manifest = json.loads((out / "manifest.json").read_text())
    training = manifest["training"]
    return {"wall_s": round(wall, 1), "val_loss": round(manifest["metrics"]["val"]["val_loss"], 4),
            "steps": steps, "batch_size": args.batch_size, "lr": args.lr, "tokens_seen": training["tokens_seen"],
            "tokens_per_s": training["tokens_per_s"], "train_loop_s": training["train_loop_s"],
            "mfu": training["mfu"], "command": " ".join(lmforge_cmd(Path("input.txt"), Path(name), args, steps)[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both (OMP_NUM_THREADS)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup-ratio", type=float, default=0.05)
    parser.add_argument("--skip-matched", action="store_true", help="skip run 3 (loss at nanoGPT's wall time)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "pretrain_vs_nanogpt.json")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(REPO / "src"),
           "LMFORGE_TRACKING": "off", "HF_HUB_OFFLINE": "1"}
    logs = args.out.parent
    logs.mkdir(parents=True, exist_ok=True)
    results = {"threads": args.threads, "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="lmf-nanogpt-") as tmp:
        work = Path(tmp)
        results["nanogpt"] = run_nanogpt(work, env, logs)
        print("nanoGPT", results["nanogpt"], flush=True)
        results["lmforge"] = run_lmforge(work, env, logs, args, args.steps, "lmforge_fast")
        print("lmforge", results["lmforge"], flush=True)
        fast = results["lmforge"]
        if not args.skip_matched:
            overhead = fast["wall_s"] - fast["train_loop_s"]
            steps = int(args.steps * (results["nanogpt"]["wall_s"] - overhead) / fast["train_loop_s"])
            results["lmforge_same_time"] = run_lmforge(work, env, logs, args, steps, "lmforge_same_time")
            print("lmforge same time", results["lmforge_same_time"], flush=True)
    results["wall_ratio"] = round(fast["wall_s"] / results["nanogpt"]["wall_s"], 3)
    results["load_average_end"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wall ratio lmforge/nanoGPT {results['wall_ratio']}  (bar: <= 0.6 with val loss <= 1.88; "
          f"lmforge {fast['val_loss']}, nanoGPT {results['nanogpt']['val_loss']})")


if __name__ == "__main__":
    main()
