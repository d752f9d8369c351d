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

import numpy as np

from lmforge.metering.meter import Meter
from lmforge.metering.prices import resolve_price
from lmforge.models.tfidf import CHAR, WORD, C, FeatureSpec

BASELINE_DIR = "baseline"  # inside the fine-tuned model's directory
THROUGHPUT_SECONDS = 0.5  # long enough to time a vectorize + predict pass reliably


def tfidf_baseline(train_texts: list[str], train_labels: list[str], dev_texts: list[str], dev_labels: list[str],
                   price_per_hour: float | None = None, instance: str | None = None,
                   label_order: list[str] | None = None, output: str | Path | None = None,
                   inputs: dict | None = None, task: str = "text-classification") -> dict:
    """Train the baseline, score it on dev, time it; returns what the manifest records under ``baseline``.

    With ``output`` the baseline is also saved there as a model directory (``lmforge.models.tfidf``) that
    evaluate, predict, serve and cost accept like any model, as a model of ``task`` (a pair task's baseline
    reads pairs)."""
    from lmforge.evaluation.calibration import calibration_record, softmax
    from lmforge.evaluation.metrics import accuracy, macro_f1
    from lmforge.models.tfidf import TfidfClassifier

    label_order = label_order or sorted(set(train_labels))
    index = {name: i for i, name in enumerate(label_order)}
    known = [i for i, label in enumerate(dev_labels) if label in index]
    y_dev = np.array([index[dev_labels[i]] for i in known])
    known_texts = [dev_texts[i] for i in known]
    candidates, why = feature_candidates(train_texts)
    tried, best = {}, None
    with Meter() as meter:
        for spec in candidates:  # text with spaces: word and character n-grams, the better on dev is kept
            model = TfidfClassifier.fit(list(train_texts), list(train_labels), label_order, spec)
            logits = model.logits(known_texts) if known else np.zeros((0, len(label_order)))
            score = accuracy(y_dev, logits.argmax(-1)) if known else 0.0
            tried[spec.describe()] = round(score, 5)
            if best is None or score > best[0]:
                best = (score, spec, model, logits)
        fit_report = meter.report(price_per_hour, instance)
    _, spec, model, logits = best
    if len(candidates) > 1:
        why += f"; dev accuracy {', '.join(f'{k} {v}' for k, v in tried.items())}: kept {spec.describe()}"
    predicted = logits.argmax(-1)
    per_s = predictions_per_second(model, dev_texts)
    quote = resolve_price(price_per_hour, instance)
    record = {
        "model": f"tfidf-logistic-regression ({spec.describe()}, C={C:g})",
        "features": spec.describe(), "features_reason": why, "features_tried": tried,
        "accuracy": accuracy(y_dev, predicted) if known else 0.0,
        "macro_f1": macro_f1(y_dev, predicted, len(label_order)) if known else 0.0,
        "evaluated_on": "dev", "dev_rows": len(dev_texts), "train_rows": len(train_texts),
        "features_count": len(model.vocabulary),
        "train_wall_s": fit_report["wall_s"], "train_cpu_s": fit_report["cpu_s"], "cost_usd": fit_report["cost"]["usd"],
        "price_per_hour": quote.usd_per_hour, "predictions_per_s": per_s,
        "usd_per_1m_predictions": quote.usd_per_hour / 3600 / per_s * 1e6,
    }
    if output is not None and known:
        from lmforge.artifacts import library_versions

        calibration = calibration_record(logits, y_dev)
        record["path"] = str(output)
        model.save(output, {
            "task": task, "lmforge_task": "baseline", "config": {"max_length": None},
            "inputs": inputs or {}, "calibration": calibration,
            "metrics": {"dev": {"accuracy": record["accuracy"], "macro_f1": record["macro_f1"],
                                "dev_loss": float(-np.log(softmax(logits)[np.arange(len(y_dev)), y_dev] + 1e-12).mean())}},
            "training": {"train_rows": len(train_texts), "features": len(model.vocabulary)},
            "wall_s": fit_report["wall_s"], "cpu_s": fit_report["cpu_s"], "cost": fit_report["cost"],
            "model": record["model"], "predictions_per_s": record["predictions_per_s"],
            "versions": library_versions(),
        })
    return record


def predictions_per_second(model, texts: list[str]) -> float:
    """Texts classified per second (n-grams + logits), timed over repeated passes of ``texts``."""
    texts = list(texts)[:2000] or ["x"]
    done, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < THROUGHPUT_SECONDS or done == 0:
        model.logits(texts)
        done += len(texts)
    return round(done / elapsed, 1)


def record_baseline(output: str | Path, manifest: dict, train, dev, label_order: list[str] | None = None,
                    task: str = "text-classification") -> dict:
    """Train the baseline on the fine-tune's own train/dev split, save it as ``output/baseline`` and add it
    and the verdict (which of the two is better on the same dev rows) to the manifest in ``output``.

    A failure (say, texts with no word characters) is a warning recorded in the manifest, never an error:
    the fine-tuned model is already saved.
    """
    from lmforge.artifacts import write_manifest

    cost = manifest.get("cost") or {}
    price = cost.get("price_per_hour") if cost.get("price_basis", "").startswith("given") else None
    try:
        manifest["baseline"] = tfidf_baseline(train.texts, train.labels, dev.texts, dev.labels, price,
                                              cost.get("instance"), label_order or manifest.get("labels"), Path(output) / BASELINE_DIR,
                                              manifest.get("inputs"), task)
        manifest["verdict"] = verdict(manifest["metrics"]["dev"].get("accuracy"), manifest["baseline"],
                                      Path(output))
    except ValueError as e:
        warnings.warn(f"the TF-IDF baseline could not be trained ({e}); the manifest records no baseline",
                      RuntimeWarning, stacklevel=2)
        manifest["baseline"] = {"error": str(e)}
    write_manifest(output, manifest)
    return manifest["baseline"]



def verdict(fine_tuned_accuracy: float | None, baseline: dict, output: Path) -> dict:
    """Which model to ship, said plainly: the baseline when it is as good or better on the same dev rows."""
    base = baseline.get("accuracy")
    if fine_tuned_accuracy is None or base is None:
        return {"winner": "fine-tuned", "message": "no baseline to compare with"}
    diff = 100 * (fine_tuned_accuracy - base)
    if diff <= 0:
        where = baseline.get("path", output / BASELINE_DIR)
        return {"winner": "baseline", "points": round(diff, 2),
                "message": f"the TF-IDF baseline is as good or better on the same dev rows ({100 * base:.2f}% vs "
                           f"{100 * fine_tuned_accuracy:.2f}% fine-tuned): ship {where} (lmforge evaluate/predict/"
                           f"serve/cost accept it; ~{baseline.get('predictions_per_s', 0):,.0f} predictions/s)"}
    return {"winner": "fine-tuned", "points": round(diff, 2),
            "message": f"fine-tuned {100 * fine_tuned_accuracy:.2f}% beats the TF-IDF baseline {100 * base:.2f}% "
                       f"on the same dev rows (+{diff:.2f} points)"}


def choose_features(texts) -> tuple[FeatureSpec, str]:
    """Character n-grams for text without spaces between words, else word n-grams; and why."""
    from lmforge.data.script import script_profile

    profile = script_profile(texts)
    share = 100 * profile["no_space_share"]
    if profile["no_space"]:
        return CHAR, f"{share:.0f}% of texts are in a script without spaces (CJK/Thai…): character n-grams"
    return WORD, f"{share:.0f}% of texts are in a script without spaces: word n-grams"


def feature_candidates(texts) -> tuple[list[FeatureSpec], str]:
    """The feature sets worth trying: character n-grams alone for text without spaces; word and character
    n-grams otherwise (characters won on Banking77's dev rows, words on SST-2's: bench/RESULTS.md)."""
    spec, why = choose_features(texts)
    return ([CHAR], why) if spec is CHAR else ([WORD, CHAR], why.replace(": word n-grams", ": word or character "
                                                                           "n-grams"))
