"""lmforge pretrain vs nanoGPT's CPU recipe on Tiny Shakespeare (character level), in one run.

    python bench/pretrain_vs_nanogpt.py --threads 1 --out bench/out/nanogpt.json

nanoGPT runs as an outside program from a temporary copy of ../shared/peers/nanoGPT (its code never
enters lmforge): the shared input.txt is copied into that copy's data dir and its prepare.py writes the
90/10 split. Then, on the same machine and thread count:

1. nanoGPT's README recipe: 4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iterations, lr 1e-3
   cosine, eval every 250 iterations on 20 batches;
2. lmforge with the same model shape and data split, its own recipe (batch, lr, steps: the flags below),
   validation on the *whole* validation split at the end;
3. lmforge again with nanoGPT's token budget (2000 × 12 × 64 tokens), which takes about nanoGPT's wall
   time, to report the loss lmforge reaches in that time (its own wall time is reported beside it).

Wall times are whole processes, start-up and data preparation included. Arms 1 and 2 run at the same time,
one process (and, with --threads 1, one core) each, so they share whatever else the machine does; arm 3
runs after them, unless --all-at-once (three processes on two cores slow each other down unevenly).
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
SHARED = next(p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir())  # ../shared (or ../../)
NANOGPT_FLAGS = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1", "--block_size=64",
                 "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
                 "--lr_decay_iters=2000", "--dropout=0.0"]


class Timed:
    """A child process started now, its output in ``log`` (see :func:`wait_all` for its wall time)."""

    def __init__(self, cmd, cwd, env, log: Path):
        self.log, self.file = log, open(log, "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.file, stderr=subprocess.STDOUT)


def wait_all(arms: list[Timed]) -> list[float]:
    """Each arm's wall time, taken when *it* ends (polled every 0.2 s); RuntimeError when one fails."""
    ended: dict[int, float] = {}
    while len(ended) < len(arms):
        for i, arm in enumerate(arms):
            if i not in ended and arm.proc.poll() is not None:
                ended[i] = time.perf_counter() - arm.t0
                arm.file.close()
                if arm.proc.returncode:
                    raise RuntimeError(f"{arm.proc.args[:4]} failed; see {arm.log}")
        time.sleep(0.2)
    return [ended[i] for i in range(len(arms))]


def prepare_nanogpt(work: Path) -> Path:
    peer = work / "nanoGPT"
    shutil.copytree(SHARED / "peers" / "nanoGPT", peer)
    data = peer / "data" / "shakespeare_char"
    shutil.copy(SHARED / "data" / "tinyshakespeare" / "input.txt", data / "input.txt")
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, capture_output=True)
    return peer


def nanogpt_result(wall: float, log: Path) -> dict:
    evals = [(int(s), float(t), float(v)) for s, t, v in
             re.findall(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)", log.read_text())]
    return {"wall_s": round(wall, 1), "val_loss": evals[-1][2], "evals": evals,
            "command": "python train.py config/train_shakespeare_char.py " + " ".join(NANOGPT_FLAGS)}


def lmforge_cmd(corpus: Path, out: Path, args, steps: int) -> list[str]:
    return [sys.executable, "-m", "lmforge", "pretrain", str(corpus), "--output", str(out), "--overwrite",
            "--objective", "clm", "--tokenizer", "char", "--arch", args.arch, "--layers", "4", "--heads", "4",
            "--width", "128", "--context", "64", "--dropout", "0", "--batch-size", str(args.batch_size),
            "--max-steps", str(steps), "--lr", str(args.lr), "--warmup-ratio", str(args.warmup_ratio),
            "--eval-every", str(steps), "--checkpoint-every", str(10 * steps), "--threads", str(args.threads),
            "--quiet"]


def lmforge_result(wall: float, out: Path, args, steps: int) -> dict:
    manifest = json.loads((out / "manifest.json").read_text())
    training = manifest["training"]
    return {"wall_s": round(wall, 1), "val_loss": round(manifest["metrics"]["val"]["val_loss"], 4),
            "steps": steps, "batch_size": args.batch_size, "lr": args.lr, "arch": args.arch,
            "tokens_seen": training["tokens_seen"], "tokens_per_s": training["tokens_per_s"],
            "train_loop_s": training["train_loop_s"], "mfu": training["mfu"],
            "command": "lmforge " + " ".join(lmforge_cmd(Path("input.txt"), Path(out.name), args, steps)[3:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both (OMP_NUM_THREADS)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup-ratio", type=float, default=0.05)
    parser.add_argument("--arch", default="llama", choices=("gpt2", "llama"))
    parser.add_argument("--same-tokens-steps", type=int, default=0,
                        help="steps of run 3 (default: nanoGPT's token budget at --batch-size)")
    parser.add_argument("--all-at-once", action="store_true", help="run arm 3 beside arms 1 and 2 (a machine "
                        "with spare cores, or one whose load changes by the minute)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "pretrain_vs_nanogpt.json")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(REPO / "src"),
           "LMFORGE_TRACKING": "off", "HF_HUB_OFFLINE": "1"}
    logs = args.out.parent
    logs.mkdir(parents=True, exist_ok=True)
    results = {"threads": args.threads, "load_average_start": os.getloadavg(), "all_at_once": args.all_at_once}
    with tempfile.TemporaryDirectory(prefix="lmf-nanogpt-") as tmp:
        work = Path(tmp)
        peer = prepare_nanogpt(work)
        corpus = work / "input.txt"
        shutil.copy(SHARED / "data" / "tinyshakespeare" / "input.txt", corpus)
        long_steps = args.same_tokens_steps or 2000 * 12 // args.batch_size  # nanoGPT's 1.536M tokens
        nano = Timed([sys.executable, "train.py", "config/train_shakespeare_char.py", *NANOGPT_FLAGS], peer, env,
                     logs / "nanogpt_train.log")
        fast = Timed(lmforge_cmd(corpus, work / "fast", args, args.steps), REPO, env, logs / "lmforge_fast.log")
        def start_long() -> Timed:
            return Timed(lmforge_cmd(corpus, work / "long", args, long_steps), REPO, env, logs / "lmforge_long.log")

        arms = [fast, nano] + ([start_long()] if args.all_at_once else [])
        try:  # every arm is waited for (or stopped) before the temporary directory goes
            walls = wait_all(arms)
            if not args.all_at_once:
                arms.append(start_long())
                walls += wait_all(arms[2:])
            fast_s, nano_s, long_s = walls
        finally:
            for arm in arms:
                if arm.proc.poll() is None:
                    arm.proc.kill()
        results["lmforge"] = lmforge_result(fast_s, work / "fast", args, args.steps)
        results["nanogpt"] = nanogpt_result(nano_s, logs / "nanogpt_train.log")
        results["lmforge_nanogpt_tokens"] = lmforge_result(long_s, work / "long", args, long_steps)
        for name in ("nanogpt", "lmforge", "lmforge_nanogpt_tokens"):
            print(name, results[name], flush=True)
    fast = results["lmforge"]
    results["wall_ratio"] = round(fast["wall_s"] / results["nanogpt"]["wall_s"], 3)
    results["load_average_end"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wall ratio lmforge/nanoGPT {results['wall_ratio']}  (bar: <= 0.6 with val loss <= 1.88; "
          f"lmforge {fast['val_loss']}, nanoGPT {results['nanogpt']['val_loss']})")


if __name__ == "__main__":
    main()
