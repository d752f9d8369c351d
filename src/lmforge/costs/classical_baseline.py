"""The classical baseline trained beside every fine-tune: TF-IDF features + logistic regression.

It answers "is the big model worth it?": the manifest records the baseline's dev accuracy next to the
fine-tuned model's, with what each cost to train and costs per prediction, and ``lmforge cost`` puts both
on one accuracy-vs-cost plot.

    >>> record = tfidf_baseline(train.texts, train.labels, dev.texts, dev.labels)
    >>> record["accuracy"], record["cost_usd"], record["predictions_per_s"]
    (0.81, 1.2e-05, 41000.0)
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from lmforge.metering.meter import Meter
from lmforge.metering.prices import resolve_price

MAX_FEATURES = 200_000
THROUGHPUT_SECONDS = 0.5  # long enough to time a vectorize + predict pass reliably


def tfidf_baseline(train_texts: list[str], train_labels: list[str], dev_texts: list[str], dev_labels: list[str],
                   price_per_hour: float | None = None, instance: str | None = None) -> dict:
    """Train the baseline, score it on dev, time it; returns what the manifest records under ``baseline``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline

    # word 1-2 grams with sublinear tf: the standard strong linear baseline for sentence classification
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=MAX_FEATURES),
                          LogisticRegression(C=4.0, max_iter=1000))
    with Meter() as meter:
        model.fit(train_texts, train_labels)
        fit_report = meter.report(price_per_hour, instance)
    predicted = model.predict(dev_texts)
    per_s = predictions_per_second(model, dev_texts)
    quote = resolve_price(price_per_hour, instance)
    return {
        "model": "tfidf-logistic-regression (word 1-2 grams, sublinear tf, C=4)",
        "accuracy": float(accuracy_score(dev_labels, predicted)),
        "macro_f1": float(f1_score(dev_labels, predicted, average="macro")),
        "evaluated_on": "dev", "dev_rows": len(dev_texts), "train_rows": len(train_texts),
        "features": len(model[0].vocabulary_),
        "train_wall_s": fit_report["wall_s"], "train_cpu_s": fit_report["cpu_s"], "cost_usd": fit_report["cost"]["usd"],
        "price_per_hour": quote.usd_per_hour, "predictions_per_s": per_s,
        "usd_per_1m_predictions": quote.usd_per_hour / 3600 / per_s * 1e6,
    }


def predictions_per_second(model, texts: list[str]) -> float:
    """Texts classified per second (vectorize + predict), timed over repeated passes of ``texts``."""
    texts = list(texts)[:2000] or ["x"]
    done, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < THROUGHPUT_SECONDS or done == 0:
        model.predict(texts)
        done += len(texts)
    return round(done / elapsed, 1)


def record_baseline(output: str | Path, manifest: dict, train, dev) -> dict:
    """Train the baseline on the fine-tune's own train/dev split and add it to the manifest in ``output``.

    A failure (say, texts with no word characters) is a warning recorded in the manifest, never an error:
    the fine-tuned model is already saved.
    """
    from lmforge.artifacts import write_manifest

    cost = manifest.get("cost") or {}
    price = cost.get("price_per_hour") if cost.get("price_basis", "").startswith("given") else None
    try:
        manifest["baseline"] = tfidf_baseline(train.texts, train.labels, dev.texts, dev.labels, price,
                                              cost.get("instance"))
    except ValueError as e:
        warnings.warn(f"the TF-IDF baseline could not be trained ({e}); the manifest records no baseline",
                      RuntimeWarning, stacklevel=2)
        manifest["baseline"] = {"error": str(e)}
    write_manifest(output, manifest)
    return manifest["baseline"]

