"""Chinese PII detection: precision and recall per kind on the generated Chinese set (held-out ``test``
templates and names, 3 seeds × 1,500 sentences), names on the Resume NER test set (real names, real text),
and what is flagged in 2,000 real food-delivery reviews (Waimai 10k, which hold almost no personal data).

    PYTHONPATH=src .venv/bin/python bench/chinese_pii.py
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DATA = Path("/work/shared/data") if Path("/work/shared/data").exists() else REPO.parent / "shared" / "data"

from lmforge.data.chinese_names import ChineseNameFinder  # noqa: E402
from lmforge.data.pii import PiiRedactor  # noqa: E402
from lmforge.data.pii_eval import score_detector  # noqa: E402
from lmforge.data.pii_eval_zh import labelled_chinese_pii_cases, resume_name_cases  # noqa: E402


def main() -> None:
    redactor, results = PiiRedactor(), {}
    for split, seeds in (("dev", (0,)), ("test", (0, 1, 2))):
        for seed in seeds:
            cases = labelled_chinese_pii_cases(1500, seed=seed, split=split)
            started = time.perf_counter()
            scores = score_detector(redactor, cases)
            scores.pop("errors")
            results[f"generated_{split}_seed{seed}"] = {
                "sentences": len(cases), "sentences_per_s": round(len(cases) / (time.perf_counter() - started)),
                **{k: {"P": v["precision"], "R": v["recall"], "support": v["true_positives"] + v["false_negatives"]}
                   for k, v in scores.items()}}
    names = PiiRedactor(["PERSON"])
    for split in ("dev", "test"):
        cases = resume_name_cases(DATA / "resume_ner" / f"{split}.char.bmes")
        scores = score_detector(names, cases)
        results[f"resume_ner_{split}_NAME"] = {"sentences": len(cases), **scores["PERSON"],
                                               "errors": scores["errors"][:15]}
        no_jieba = score_detector(_CueOnly(), cases)["PERSON"]
        results[f"resume_ner_{split}_NAME_without_jieba"] = {k: no_jieba[k] for k in ("precision", "recall")}
    with open(DATA / "waimai10k" / "waimai_10k.csv", encoding="utf-8") as f:
        reviews = [row["review"] for row in csv.DictReader(f)][:2000]
    flagged, examples = Counter(), []
    for text in reviews:
        for span in redactor.find(text):
            flagged[span.kind] += 1
            if len(examples) < 30:
                examples.append((span.kind, span.value, text[:60]))
    results["waimai_2000_reviews_flagged"] = {"by_kind": dict(flagged), "examples": examples}
    print(json.dumps(results, indent=1, ensure_ascii=False))


class _CueOnly:
    """PERSON through the cue rules alone (no jieba), to show what the tagger adds."""

    def __init__(self):
        self.finder = ChineseNameFinder(use_jieba=False)

    def find(self, text):
        from lmforge.data.pii import Span

        return [Span("PERSON", s, e, text[s:e]) for s, e in self.finder.spans(text)]


if __name__ == "__main__":
    main()
