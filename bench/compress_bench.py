"""Compression benchmark: the transformers pipeline against every lmforge path, on the 872 SST-2 test sentences.

    nice -n -5 .venv/bin/python bench/compress_bench.py            # ~25 min on 2 vCPUs (distillation included)

Needs the fine-tuned MiniLM teacher (made by this script when missing, with the same command the README gives):

    lmforge finetune examples/data/sst2-train-4000.tsv --output bench/out/compress-minilm --quiet

Artifacts are made with the public `lmforge.compression.compress` (the CLI's code path); then every model is
timed in ONE process, in alternating rounds (median of 3), so the ratios hold on a shared machine. Writes
bench/out/compress/<tag>.json, <tag>.md and <tag>-accuracy_vs_speed.png (tag: --tag, default "results").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEACHER = REPO / "bench/out/compress-minilm"
TEST = REPO / "examples/data/sst2-test.tsv"
OUT = REPO / "bench/out/compress"
SHARED_SST2 = Path(os.environ.get("LMFORGE_SHARED_DATA", REPO.parent / "shared" / "data")) / "sst2"
UNLABELLED = OUT / "sst2-unlabelled-16k.txt"

# name → compress settings; "naive-int8" reproduces the starting point (per-tensor, unfused, no
# reduce_range, nothing kept fp32) so the gain of each choice is measured in the same run.
ARTIFACTS = {
    "onnx": {"to": "onnx"},
    "onnx-int8": {"to": "onnx-int8"},
    "naive-int8": {"to": "onnx-int8", "per_channel": False, "optimize_graph": False, "reduce_range": False,
                   "keep_fp32": "", "force": True},
    "torch-int8": {"to": "torch-int8", "force": True},
    "student-3l": {"to": "distill", "student_layers": 3, "epochs": 3, "force": True},
    # the same student, also taught on 16,000 more SST-2 train sentences whose labels it never sees
    "student-3l-unlabelled": {"to": "distill", "student_layers": 3, "epochs": 3, "unlabelled": str(UNLABELLED),
                              "force": True},
}
DERIVED = {"student-3l-onnx-int8": ("student-3l", {"to": "onnx-int8"}),
           "student-3l-unlabelled-onnx-int8": ("student-3l-unlabelled", {"to": "onnx-int8"})}


def write_unlabelled() -> None:
    """SST-2 train sentences 4,001-20,000 (after the teacher's 4,000), text only, one per line."""
    from lmforge.data.examples import load_labeled_texts

    texts = load_labeled_texts(SHARED_SST2 / "train.tsv").texts[4000:20000]
    UNLABELLED.write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n")


def ensure_teacher() -> None:
    if not (TEACHER / "manifest.json").exists():
        subprocess.run([str(REPO / ".venv/bin/lmforge"), "finetune", str(REPO / "examples/data/sst2-train-4000.tsv"),
                        "--output", str(TEACHER), "--quiet"], check=True)


def make_artifacts(names: list[str]) -> dict[str, dict]:
    from lmforge.compression import CompressConfig, compress

    built = {}
    for name in names:
        if name in ARTIFACTS:
            parent, settings = TEACHER, ARTIFACTS[name]
        else:
            parent, settings = OUT / DERIVED[name][0], DERIVED[name][1]
        target = OUT / name
        if (target / "manifest.json").exists():
            print(f"[{name}] exists, reusing {target}", flush=True)
            continue
        start = time.perf_counter()
        config = CompressConfig(eval=str(TEST), **settings)
        result = compress(parent, target, config, overwrite=True)
        built[name] = {"seconds": round(time.perf_counter() - start, 1)}
        print(f"[{name}] made in {built[name]['seconds']} s: {result.manifest['measurements']['ratios']}", flush=True)
    return built


class PipelineBaseline:
    """transformers.pipeline("text-classification") as most people would run it (batch_size=32, truncation)."""

    def __init__(self, model_dir: Path):
        from transformers import pipeline

        self.pipe = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device=-1)
        self.label_ids = {name: i for i, name in self.pipe.model.config.id2label.items()}

    def predict(self, texts, batch_size):
        return [self.label_ids[r["label"]] for r in self.pipe(list(texts), batch_size=batch_size, truncation=True,
                                                              max_length=128)]


def time_pipeline(pipe: PipelineBaseline, texts, speed_texts: int, latency_texts: int) -> tuple[float, float]:
    pipe.predict(texts[:32], 32)
    start = time.perf_counter()
    pipe.predict(texts[:speed_texts], 32)
    throughput = speed_texts / (time.perf_counter() - start)
    times = []
    for text in texts[:latency_texts]:
        t0 = time.perf_counter()
        pipe.predict([text], 1)
        times.append(time.perf_counter() - t0)
    return throughput, 1000 * statistics.median(times)


def measure_all(names: list[str], speed_texts: int, rounds: int) -> list[dict]:
    from lmforge.compression.measure import LATENCY_TEXTS, measure_pair, size_on_disk_mb
    from lmforge.data.examples import load_labeled_texts
    from lmforge.inference.predictor import Predictor
    from lmforge.training.finetune import configure_threads

    threads = configure_threads(None)
    data = load_labeled_texts(TEST)
    gold = np.array([int(label) for label in data.labels])
    dirs = {"torch-fp32": TEACHER, **{name: OUT / name for name in names}}
    predictors = {name: Predictor.load(d) for name, d in dirs.items()}
    assert all(p.labels == ["0", "1"] for p in predictors.values())
    pipe = PipelineBaseline(TEACHER)
    pipe_accuracy = float((np.array(pipe.predict(data.texts, 32)) == gold).mean())
    # the pipeline takes one slot in each alternating round, like the lmforge paths
    pipe_runs = []
    lmforge_runs = []
    for _ in range(rounds):
        pipe_runs.append(time_pipeline(pipe, data.texts, speed_texts, LATENCY_TEXTS))
        lmforge_runs.append(measure_pair(predictors, data.texts, gold, speed_texts=speed_texts, rounds=1))
    rows = [{"name": "transformers pipeline", "backend": "transformers", "accuracy": round(pipe_accuracy, 5),
             "sentences_per_s_b32": round(statistics.median(r[0] for r in pipe_runs), 2),
             "p50_latency_ms_b1": round(statistics.median(r[1] for r in pipe_runs), 3),
             "size_mb": size_on_disk_mb(TEACHER)}]
    for name, d in dirs.items():
        runs = [r[name] for r in lmforge_runs]
        rows.append({"name": name, "backend": runs[0]["backend"], "accuracy": runs[0]["accuracy"],
                     "agreement_with_fp32": runs[0].get("agreement", 1.0),
                     "sentences_per_s_b32": round(statistics.median(r["sentences_per_s_b32"] for r in runs), 2),
                     "p50_latency_ms_b1": round(statistics.median(r["p50_latency_ms_b1"] for r in runs), 3),
                     "size_mb": size_on_disk_mb(d)})
    base = {r["name"]: r for r in rows}
    for row in rows:
        row["x_torch_fp32_b32"] = round(row["sentences_per_s_b32"] / base["torch-fp32"]["sentences_per_s_b32"], 2)
        pipeline_speed = base["transformers pipeline"]["sentences_per_s_b32"]
        row["x_pipeline_b32"] = round(row["sentences_per_s_b32"] / pipeline_speed, 2)
        row["accuracy_change_points"] = round(100 * (row["accuracy"] - base["torch-fp32"]["accuracy"]), 2)
        row["threads"] = threads
    for name in (n for n in base if n.startswith("student-")):
        base[name]["x_teacher_b1"] = round(base["torch-fp32"]["p50_latency_ms_b1"] / base[name]["p50_latency_ms_b1"], 2)
    return rows


def markdown(rows: list[dict]) -> str:
    head = ("| model | backend | accuracy % | Δ points | agree % | size MB | sent/s b32 | × torch fp32 | × pipeline "
            "| p50 ms b1 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        agree = f"{100 * r['agreement_with_fp32']:.1f}" if "agreement_with_fp32" in r else "-"
        lines.append(f"| {r['name']} | {r['backend']} | {100 * r['accuracy']:.2f} | {r['accuracy_change_points']:+.2f} "
                     f"| {agree} | {r['size_mb']:.1f} | {r['sentences_per_s_b32']:.1f} | {r['x_torch_fp32_b32']:.2f} "
                     f"| {r['x_pipeline_b32']:.2f} | {r['p50_latency_ms_b1']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="artifacts to make and time (default: all)")
    parser.add_argument("--speed-texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tag", default="results", help="name of the results files (several partial runs)")
    args = parser.parse_args()
    names = args.only or [*ARTIFACTS, *DERIVED]
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_teacher()
    if any("unlabelled" in name for name in names):
        write_unlabelled()
    built = make_artifacts(names)
    rows = measure_all(names, args.speed_texts, args.rounds)
    from lmforge.compression.comparison import accuracy_vs_speed_png
    from lmforge.metering import hardware_info

    accuracy_vs_speed_png([{**r, "artifact": r["name"]} for r in rows], OUT / f"{args.tag}-accuracy_vs_speed.png")
    table = markdown(rows)
    (OUT / f"{args.tag}.json").write_text(json.dumps({"rows": rows, "built": built, "hardware": hardware_info(),
                                                  "command": " ".join(sys.argv)}, indent=2) + "\n")
    (OUT / f"{args.tag}.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
