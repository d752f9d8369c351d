"""GoEmotions multi-label (issue 11): `lmforge finetune --task multi-label` with the defaults, then `lmforge
evaluate` on test; prints test macro-F1 against the bar (0.46, the paper's BERT-base).

    PYTHONPATH=src python bench/goemotions.py                       # the full run (43,410 train rows)
    PYTHONPATH=src python bench/goemotions.py --rows 300 --epochs 1 # a smoke test on the first 300 rows of each

Runs the CLI exactly as a user would (in this checkout: `python -m lmforge` with this `src/` first):

    lmforge finetune ../shared/data/goemotions/train.tsv --task multi-label --dev ../shared/data/goemotions/dev.tsv
    lmforge evaluate OUT ../shared/data/goemotions/test.tsv

The ids in the files map to names through the `labels.txt` beside them; thresholds are tuned on dev.
The model goes to bench/out/goemotions/; prints one JSON line with the timings and scores.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import lmforge as run_lmforge  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "goemotions"
if not DATA.exists():
    DATA = Path("/work/shared/data/goemotions")
OUT = REPO / "bench" / "out" / "goemotions"
BAR = 0.46  # Demszky et al. 2020, BERT-base, test macro-F1


def head(rows: int) -> Path:
    """The first ``rows`` lines of each split, with labels.txt beside them (0: the files themselves)."""
    if not rows:
        return DATA
    folder = OUT / f"first-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        lines = (DATA / f"{split}.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / f"{split}.tsv").write_text("".join(lines[:rows]), encoding="utf-8")
    shutil.copy(DATA / "labels.txt", folder / "labels.txt")
    return folder


def lmforge(*args: str) -> float:
    return round(run_lmforge(*args, echo=True), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=0, help="first N rows of each split (0: all)")
    parser.add_argument("--epochs", type=int, default=None, help="default: lmforge's choice")
    args, extra = parser.parse_known_args()  # anything else goes to `lmforge finetune`
    data = head(args.rows)
    model = OUT / (f"model-first-{args.rows}" if args.rows else "model")
    flags = [*(["--epochs", str(args.epochs)] if args.epochs else []), *extra]
    finetune_s = lmforge("finetune", str(data / "train.tsv"), "--task", "multi-label", "--dev",
                         str(data / "dev.tsv"), "--output", str(model), "--overwrite", "--quiet", *flags)
    evaluate_s = lmforge("evaluate", str(model), str(data / "test.tsv"), "--output", str(model / "eval-test"))
    metrics = json.loads((model / "eval-test" / "metrics.json").read_text())
    manifest = json.loads((model / "manifest.json").read_text())
    record = {"run": "goemotions", "train_rows": manifest["inputs"]["train"]["rows"], "flags": flags,
              "epochs": manifest["config"]["epochs"], "finetune_s": finetune_s, "evaluate_s": evaluate_s,
              "dev": manifest["metrics"]["dev"], "when_none_pass": manifest["decision"]["when_none_pass"],
              "baseline_dev_macro_f1": manifest.get("baseline", {}).get("macro_f1"),
              "test": {k: round(metrics[k], 4) for k in ("macro_f1", "micro_f1", "samples_f1", "subset_accuracy")}
              | {"macro_f1_ci95": [round(x, 4) for x in metrics["confidence_intervals"]["macro_f1"]],
                 "macro_f1_at_0.5": round(metrics["at_threshold_0.5"]["macro_f1"], 4),
                 "examples": metrics["examples"]},
              "bar": BAR, "meets_bar": metrics["macro_f1"] >= BAR}
    print(json.dumps(record), flush=True)
    print(f"GoEmotions test macro-F1 {metrics['macro_f1']:.4f} (bar {BAR}: {'met' if record['meets_bar'] else 'NOT met'})")


if __name__ == "__main__":
    main()
