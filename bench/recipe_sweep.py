"""Recipe sweep: fine-tune with given settings and record the DEV score (held out of the training file by
lmforge itself; never a test split) with the TF-IDF baseline on the same dev rows and the wall time.

    python bench/recipe_sweep.py banking77:lr=1e-4,head_lr=3e-3,epochs=6,freeze_layers=0 agnews:epochs=2

Each result is appended as one JSON line to bench/out/recipe_sweep.jsonl.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_data import datasets  # noqa: E402

from lmforge.config import FinetuneConfig  # noqa: E402
from lmforge.training.finetune import finetune  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def parse(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    values = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        values[key] = None if value == "None" else (int(value) if value.lstrip("-").isdigit() else
                                                     (float(value) if value[0].isdigit() else value))
    return name, values


def main(specs: list[str]) -> None:
    sets = datasets()
    for spec in specs:
        name, values = parse(spec)
        tag = spec.replace(":", "_").replace(",", "_").replace("=", "")
        t0 = time.time()
        result = finetune(sets[name]["train"], OUT / "sweep" / tag, config=FinetuneConfig(**values),
                          overwrite=True, quiet=True)
        m = result.manifest
        record = {"spec": spec, "dev": m["metrics"]["dev"], "history": m["metrics"]["history"],
                  "baseline_dev": m.get("baseline", {}).get("accuracy"), "wall_s": round(time.time() - t0, 1),
                  "adaptive": m.get("adaptive"), "config": m["config"], "finished": time.strftime("%H:%M:%S")}
        with open(OUT / "recipe_sweep.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps({k: record[k] for k in ("spec", "dev", "baseline_dev", "wall_s")}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
