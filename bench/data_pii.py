"""PII detection quality: precision and recall per kind on the labelled synthetic set (3 seeds × 1,000
sentences, the set tests/test_data_pii.py builds) and on CoNLL-2003 person names (valid and test).

    .venv/bin/python bench/data_pii.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lmforge.data.pii import PiiRedactor  # noqa: E402
from lmforge.data.pii_eval import conll_person_cases, labelled_pii_cases, score_detector  # noqa: E402


def main() -> None:
    redactor = PiiRedactor()
    results = {}
    for seed in range(3):
        cases = labelled_pii_cases(1000, seed=seed)
        started = time.perf_counter()
        scores = score_detector(redactor, cases)
        scores.pop("errors")
        results[f"synthetic_seed{seed}"] = {"sentences": len(cases),
                                            "sentences_per_s": round(len(cases) / (time.perf_counter() - started)),
                                            **{k: [v["precision"], v["recall"]] for k, v in scores.items()}}
    names = PiiRedactor(["PERSON"])
    for split in ("valid", "test"):
        cases = conll_person_cases(REPO.parent / "shared" / "data" / "conll2003" / f"{split}.txt")
        scores = score_detector(names, cases)["PERSON"]
        results[f"conll2003_{split}_PER"] = {"sentences": len(cases), **scores}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
