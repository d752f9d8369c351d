"""BPE tokenizer training speed and memory: 32k vocabulary on ~100 MB of text.

    python bench/tokenizer_train.py --megabytes 100 --vocab-size 32000

The corpus is the shared data sets' text files (every .txt/.csv/.tsv/.json/.jsonl under ../shared/data:
English and Chinese, ~40 MB) concatenated and repeated until it holds the asked size, written to a
temporary file. ``lmforge tokenizer train`` then runs as its own process; wall time is the whole process
(start-up and reading included), peak memory is the child's maximum resident set (getrusage).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = next(p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir()) / "data"
SUFFIXES = {".txt", ".csv", ".tsv", ".json", ".jsonl"}


def build_corpus(path: Path, megabytes: float) -> int:
    sources = sorted(p for p in SHARED.rglob("*") if p.suffix in SUFFIXES and p.name != "LICENSE.txt")
    target, written = int(megabytes * 1e6), 0
    with open(path, "wb") as out:
        while written < target:
            for source in sources:
                data = source.read_bytes()[: target - written]
                out.write(data)
                written += len(data)
                if written >= target:
                    break
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=100)
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--kind", default="bpe")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "tokenizer_train.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lmf-tok-") as tmp:
        corpus = Path(tmp) / "corpus.txt"
        size = build_corpus(corpus, args.megabytes)
        cmd = [sys.executable, "-m", "lmforge", "tokenizer", "train", str(corpus), "--output", str(Path(tmp) / "tok"),
               "--vocab-size", str(args.vocab_size), "--kind", args.kind, "--quiet"]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "LMFORGE_TRACKING": "off"}
        load = os.getloadavg()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"tokenizer training failed:\n{proc.stderr}")
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        vocab = len(json.loads((Path(tmp) / "tok" / "tokenizer.json").read_text())["model"]["vocab"])
    result = {"corpus_bytes": size, "vocab_size": vocab, "kind": args.kind, "wall_s": round(wall, 1),
              "peak_memory_mb": round(peak_mb), "cli_output": proc.stdout.strip(), "load_average_start": load,
              "cpus": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
