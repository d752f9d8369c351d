"""The TF-IDF baseline on every suite set's TEST split, word vs character n-grams, and how well MiniLM's
tokenizer covers each set (share of [UNK] tokens). Cheap (seconds per set): it runs where the full suite
cannot finish. The baseline is trained on the training file minus the dev rows finetune would hold out
(same seeded stratified split), as in ``lmforge finetune``.

    python bench/baseline_check.py > bench/out/baseline_check.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_data import datasets  # noqa: E402

from lmforge.config import FinetuneConfig  # noqa: E402
from lmforge.data.examples import LabelSet, load_labeled_texts  # noqa: E402
from lmforge.evaluation.metrics import accuracy  # noqa: E402
from lmforge.models.pretrained import bundled_model_dir, load_tokenizer  # noqa: E402
from lmforge.models.tfidf import CHAR, WORD, TfidfClassifier, choose_features  # noqa: E402
from lmforge.training.finetune import split_dev  # noqa: E402


def main() -> None:
    tokenizer = load_tokenizer(bundled_model_dir())
    for name, files in datasets().items():
        train = load_labeled_texts(files["train"])
        test = load_labeled_texts(files["test"], train.text_column, train.label_column)
        kept, dev, _ = split_dev(train, FinetuneConfig())
        labels = LabelSet.from_labels(kept.labels).names
        index = {n: i for i, n in enumerate(labels)}
        chosen, why = choose_features(kept.texts)
        row = {"set": name, "train_rows": len(kept), "dev_rows": len(dev), "test_rows": len(test),
               "chosen": chosen.describe(), "why": why}
        for spec in (WORD, CHAR):
            t0 = time.time()
            model = TfidfClassifier.fit(kept.texts, kept.labels, labels, spec)
            for split, data in (("dev", dev), ("test", test)):
                y = [index[label] for label in data.labels]
                row[f"{spec.analyzer}_{split}_accuracy"] = round(accuracy(y, model.logits(data.texts).argmax(-1)), 4)
            row[f"{spec.analyzer}_fit_s"] = round(time.time() - t0, 1)
        ids = tokenizer(kept.texts[:2000], add_special_tokens=False)["input_ids"]
        row["minilm_unk_share"] = round(sum(x.count(tokenizer.unk_token_id) for x in ids) / max(1, sum(map(len, ids))), 4)
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
