"""Disk a `lmforge finetune` leaves outside its output directory, with the default tracking store.

Each arm runs the same `lmforge finetune` (bundled MiniLM, the first ROWS sentences of SST-2 train, one epoch)
as a fresh process, standing in an empty working directory, with HOME and LMFORGE_HOME pointing at an empty
directory, and then counts every byte outside the output directory and the data file:

  now             the default: the store in $LMFORGE_HOME, the model referenced
  now --log-model the model copied into the store too (opt in)
  before REV      the code of git revision REV (MLflow's default store in the working directory, model copied)

    python bench/tracking_disk.py --rows 400 --before 3f33c16
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SST2 = REPO.parent / "shared" / "data" / "sst2" / "train.tsv"
if not SST2.exists():
    SST2 = Path("/work/shared/data/sst2/train.tsv")


def size_outside(root: Path, keep: list[Path]) -> tuple[int, list[tuple[str, int]]]:
    files = [p for p in root.rglob("*") if p.is_file() and not any(p.is_relative_to(k) for k in keep)]
    sizes = sorted(((str(p.relative_to(root)), p.stat().st_size) for p in files), key=lambda x: -x[1])
    return sum(s for _, s in sizes), sizes


def arm(src: Path, rows: int, extra: list[str], workdir: Path) -> tuple[int, list[tuple[str, int]]]:
    workdir.mkdir(parents=True)
    data = workdir / "data" / "train.tsv"
    data.parent.mkdir()
    with open(SST2) as f:
        data.write_text("".join(line for _, line in zip(range(rows + 1), f)))
    home = workdir / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("LMFORGE_TRACKING_URI", "MLFLOW_TRACKING_URI",
                                                            "LMFORGE_TRACKING", "LMFORGE_CACHE_DIR")}
    env.update(PYTHONPATH=str(src), HOME=str(home), LMFORGE_HOME=str(home / ".lmforge"))
    cwd = workdir / "data"  # the user stands in their data folder
    subprocess.run([sys.executable, "-m", "lmforge", "finetune", "train.tsv", "--output", str(workdir / "model"),
                    "--epochs", "1", "--quiet", *extra], env=env, cwd=cwd, check=True)
    return size_outside(workdir, [workdir / "model", data])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--before", help="git revision of the comparison arm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        arms = {"now (default)": (REPO / "src", []), "now --log-model": (REPO / "src", ["--log-model"])}
        if args.before:
            archive = subprocess.run(["git", "archive", args.before, "src"], cwd=REPO, capture_output=True,
                                     check=True).stdout
            (tmp / "before.tar").write_bytes(archive)
            with tarfile.open(tmp / "before.tar") as t:
                t.extractall(tmp / "before", filter="data")
            arms[f"before ({args.before})"] = (tmp / "before" / "src", [])
        print("| arm | bytes outside the output directory | largest files |\n|---|---:|---|")
        for i, (name, (src, extra)) in enumerate(arms.items()):
            total, files = arm(src, args.rows, extra, tmp / f"arm{i}")
            top = ", ".join(f"`{p}` {s / 1e6:.2f} MB" for p, s in files[:3])
            print(f"| {name} | {total:,} ({total / 1e6:.2f} MB) | {top} |", flush=True)


if __name__ == "__main__":
    main()
