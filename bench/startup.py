"""Start-up time of the CLI: `lmforge --help`, every `lmforge <cmd> --help`, and `lmforge predict MODEL "one
text"` on a torch model and on an ONNX int8 export — each run N times in a fresh process, median wall time.

With ``--before REV`` the same commands also run on the source of git revision REV (extracted to a
temporary directory), in the same script and interleaved, so the before/after ratio is measured under the
same machine load.

    python bench/startup.py --torch-model runs/sst2 --int8-model runs/sst2-int8 --before 3f33c16 -n 7

Models: any `lmforge finetune` output and its `lmforge compress --to onnx-int8` export (the commands used for
bench/RESULTS.md are written there). Prints a markdown table and writes bench/out/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def commands(torch_model: str | None, int8_model: str | None) -> list[tuple[str, list[str]]]:
    sys.path.insert(0, str(REPO / "src"))
    from lmforge.cli import COMMANDS

    out = [("--help", ["--help"])]
    out += [(f"{name} --help", [name, "--help"]) for name in COMMANDS]
    out += [("data inspect --help", ["data", "inspect", "--help"]), ("data prepare --help", ["data", "prepare", "--help"])]
    if torch_model:
        out.append(("predict (torch model)", ["predict", torch_model, "a gorgeous, witty, seductive movie."]))
    if int8_model:
        out.append(("predict (onnx-int8 model)", ["predict", int8_model, "a gorgeous, witty, seductive movie."]))
    return out


def run_once(src: Path, argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one fresh `python -m lmforge ARGV` process. On a shared machine
    the wall time includes waiting for a core; the CPU time does not."""
    env = {**os.environ, "PYTHONPATH": str(src), "LMFORGE_TRACKING": "off"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lmforge", *argv], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"`lmforge {' '.join(argv)}` failed with {src}:\n{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=REPO, capture_output=True, check=True).stdout
    tar = into / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch-model", help="a fine-tuned model directory")
    parser.add_argument("--int8-model", help="its ONNX int8 export")
    parser.add_argument("--before", help="git revision to compare with (same commands, same run)")
    parser.add_argument("-n", type=int, default=7, help="runs per command (median reported)")
    parser.add_argument("--only", nargs="*", help="only these commands, by label: 'main' (lmforge --help), "
                                                  "'finetune --help', 'predict (torch model)' …")
    args = parser.parse_args()

    arms = {"now": REPO / "src"}
    tmp = tempfile.TemporaryDirectory()
    if args.before:
        arms[f"before ({args.before})"] = extract(args.before, Path(tmp.name))
    todo = commands(args.torch_model, args.int8_model)
    if args.only:
        todo = [(label, argv) for label, argv in todo if label in args.only or (label == "--help" and "main" in args.only)]
    load_before = os.getloadavg()
    times: dict[str, dict[str, list[tuple[float, float]]]] = {label: {arm: [] for arm in arms} for label, _ in todo}
    for label, argv in todo:
        for _ in range(args.n):
            for arm, src in arms.items():  # interleaved: both arms see the same load
                times[label][arm].append(run_once(src, argv))
    load_after = os.getloadavg()

    header = ["command", *(f"{arm}: wall s / CPU s (median)" for arm in arms),
              *(["ratio (wall, CPU)"] if len(arms) > 1 else [])]
    print(f"| {' | '.join(header)} |\n|{'---|' * len(header)}")
    for label, per_arm in times.items():
        wall = [statistics.median(w for w, _ in v) for v in per_arm.values()]
        cpu = [statistics.median(c for _, c in v) for v in per_arm.values()]
        cells = [f"{w:.2f} / {c:.2f}" for w, c in zip(wall, cpu)]
        if len(wall) > 1:
            cells.append(f"{wall[1] / wall[0]:.1f}x, {cpu[1] / cpu[0]:.1f}x")
        print(f"| `lmforge {label}` | {' | '.join(cells)} |")
    print(f"\nn={args.n} per command and arm; load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"{os.cpu_count()} logical CPUs")
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.json").write_text(json.dumps({"n": args.n, "load_before": load_before, "load_after": load_after,
                                                  "times": times}, indent=1))


if __name__ == "__main__":
    main()
