"""The quality suite (issue 10): the DEFAULT recipe on several data sets, against its own TF-IDF baseline.

For each set: ``lmforge finetune TRAIN --output DIR`` (no flags beyond file names), ``lmforge evaluate DIR
TEST``, ``lmforge evaluate DIR/baseline TEST`` (the baseline artifact finetune saves beside the model), wall
time of each, the adaptive choices and the verdict from the manifest, and a published reference.

    python bench/quality_suite.py                      # all sets, in the order below
    python bench/quality_suite.py banking77 agnews     # some

Results: bench/out/quality/results.jsonl (one line per set, appended) and bench/out/quality/table.md
(bench/out/quality-bf16/ with QUALITY_PRECISION=bf16).
Splits of Waimai and online_shopping are made by bench/quality_data.py (seeded, stratified 80/20).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_data import datasets  # noqa: E402

# On a 2-core machine shared with other jobs, 2 torch threads spin-wait on each other; QUALITY_THREADS=1
# passes --threads 1 to finetune and evaluate (recorded in the results)
THREADS = os.environ.get("QUALITY_THREADS")
# QUALITY_PRECISION=bf16 passes --precision bf16 to finetune (a CPU with native bf16), into out/quality-bf16
PRECISION = os.environ.get("QUALITY_PRECISION")
OUT = Path(__file__).resolve().parent / "out" / ("quality" + (f"-{PRECISION}" if PRECISION else ""))
ORDER = ("banking77", "agnews", "waimai10k", "online_shopping7", "sst2")
REFERENCES = {  # published accuracy on the same test split (different model or more training data: say so)
    "sst2": "MiniLMv2-L6-H384 91.97% (full GLUE train; huggingface.co/philschmid/MiniLMv2-L6-H384-sst2)",
    "agnews": "BERT-base-cased 94.50% (full 120k train; huggingface.co/lucasresck/bert-base-cased-ag-news)",
    "banking77": "BERT-base fine-tuned 93.66% (Casanueva et al. 2020, arXiv:2003.04807, full data)",
    "waimai10k": "none found (no standard split)",
    "online_shopping7": "none found (no standard split)",
}


def run(args: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "lmforge", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"lmforge {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return time.time() - t0, done.stdout


def one(name: str, files: dict) -> dict:
    model = OUT / name
    machine = ["--threads", THREADS] if THREADS else []  # a machine setting, not a recipe one
    finetune_s, summary = run(["finetune", str(files["train"]), "--output", str(model), "--overwrite", "--quiet",
                               *machine, *(["--precision", PRECISION] if PRECISION else [])])
    eval_s, _ = run(["evaluate", str(model), str(files["test"]), *machine])
    base_s, _ = run(["evaluate", str(model / "baseline"), str(files["test"]), *machine])
    manifest = json.loads((model / "manifest.json").read_text())
    tuned = json.loads((model / "eval" / Path(files["test"]).stem / "metrics.json").read_text())
    base = json.loads((model / "baseline" / "eval" / Path(files["test"]).stem / "metrics.json").read_text())
    adaptive = {k: v["value"] for k, v in manifest.get("adaptive", {}).items() if isinstance(v, dict) and "value" in v}
    return {
        "set": name, "threads": THREADS or "default", "precision": PRECISION or "auto", "train": str(files["train"]), "test": str(files["test"]),
        "finetune_s": round(finetune_s, 1), "evaluate_s": round(eval_s, 1), "baseline_evaluate_s": round(base_s, 1),
        "test_accuracy": tuned["accuracy"], "test_macro_f1": tuned["macro_f1"],
        "test_ece": tuned["expected_calibration_error"],
        "test_ece_uncalibrated": tuned.get("expected_calibration_error_uncalibrated"),
        "temperature": manifest.get("calibration", {}).get("temperature"),
        "baseline_test_accuracy": base["accuracy"], "baseline_features": manifest.get("baseline", {}).get("features"),
        "dev_accuracy": manifest["metrics"]["dev"].get("accuracy"),
        "baseline_dev_accuracy": manifest.get("baseline", {}).get("accuracy"),
        "verdict": manifest.get("verdict"), "adaptive": adaptive, "warning": manifest.get("adaptive", {}).get("warning"),
        "profile": manifest.get("adaptive", {}).get("profile"),
        "summary": summary.strip().splitlines(), "reference": REFERENCES.get(name),
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def table(rows: list[dict]) -> str:
    lines = ["| set | fine-tuned test acc % | TF-IDF baseline test acc % | winner (test) | verdict on dev | "
             "ECE before → after T | finetune wall | recipe (adaptive) | published reference |",
             "|---|---:|---:|---|---|---|---:|---|---|"]
    for r in rows:
        a = r["adaptive"]
        recipe = (f"{a.get('epochs')} ep, lr {a.get('lr')}, head {a.get('head_lr')}, freeze {a.get('freeze_layers')}, "
                  f"len {a.get('max_length')} {a.get('truncation')}")
        winner = "fine-tuned" if r["test_accuracy"] > r["baseline_test_accuracy"] else "**baseline**"
        lines.append(f"| {r['set']} | {100 * r['test_accuracy']:.2f} | {100 * r['baseline_test_accuracy']:.2f} "
                     f"({r['baseline_features']}) | {winner} | {(r['verdict'] or {}).get('winner')} | "
                     f"{r['test_ece_uncalibrated']:.3f} → {r['test_ece']:.3f} (T={r['temperature']}) | "
                     f"{r['finetune_s'] / 60:.1f} min | {recipe} | {r['reference']} |")
    return "\n".join(lines) + "\n"


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sets = datasets()
    for name in names or ORDER:
        row = one(name, sets[name])
        with open(OUT / "results.jsonl", "a") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(json.dumps({k: row[k] for k in ("set", "test_accuracy", "baseline_test_accuracy", "finetune_s",
                                              "test_ece", "verdict")}, ensure_ascii=False), flush=True)
    rows = [json.loads(line) for line in (OUT / "results.jsonl").read_text().splitlines()]
    latest = {r["set"]: r for r in rows}  # the newest run of each set
    (OUT / "table.md").write_text(table([latest[n] for n in ORDER if n in latest]))


if __name__ == "__main__":
    main(sys.argv[1:])
