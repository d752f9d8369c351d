"""Pure metric functions on label ids, predicted ids and confidences (numpy in, plain Python out)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_labels: int) -> float:
    return float(f1_score(y_true, y_pred, labels=list(range(num_labels)), average="macro", zero_division=0))


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, bins: int = 15) -> dict:
    """ECE with equal-width confidence bins, and the per-bin table for a reliability diagram."""
    correct, confidence = np.asarray(correct, dtype=float), np.asarray(confidence, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        if count:
            acc, conf = float(correct[mask].mean()), float(confidence[mask].mean())
            ece += count / len(correct) * abs(acc - conf)
        else:
            acc = conf = None
        table.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": count,
                      "accuracy": acc, "confidence": conf})
    return {"ece": float(ece), "bins": table}


def bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, num_labels: int, samples: int = 1000,
                 seed: int = 0, level: float = 0.95) -> dict:
    """Percentile bootstrap confidence intervals for accuracy and macro-F1."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(y_true)
    rng = np.random.default_rng(seed)
    accs, f1s = np.empty(samples), np.empty(samples)
    for i in range(samples):
        idx = rng.integers(0, n, n)
        t, p = y_true[idx], y_pred[idx]
        accs[i] = np.mean(t == p)
        f1s[i] = _fast_macro_f1(t, p, num_labels)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {"level": level, "samples": samples,
            "accuracy": [float(np.percentile(accs, lo)), float(np.percentile(accs, hi))],
            "macro_f1": [float(np.percentile(f1s, lo)), float(np.percentile(f1s, hi))]}


def _fast_macro_f1(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    # sklearn's f1_score costs ~1 ms per call; a bincount confusion matrix makes 1000 resamples cheap.
    cm = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1.mean())


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, confidence: np.ndarray,
                          labels: list[str], bootstrap_samples: int = 1000, seed: int = 0) -> dict:
    """Everything `lmforge evaluate` reports about a labelled set."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(labels)
    ids = list(range(k))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    per_class = {labels[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                             "support": int(s[i])} for i in ids}
    averages = {}
    for avg in ("macro", "micro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, labels=ids, average=avg, zero_division=0)
        averages[avg] = {"precision": float(ap), "recall": float(ar), "f1": float(af)}
    calibration = expected_calibration_error(y_true == y_pred, confidence)
    return {
        "examples": int(len(y_true)),
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": averages["macro"]["f1"],
        "per_class": per_class,
        "averages": averages,
        "expected_calibration_error": calibration["ece"],
        "calibration_bins": calibration["bins"],
        "confidence_intervals": bootstrap_ci(y_true, y_pred, k, bootstrap_samples, seed),
        "confusion_matrix": {"labels": labels,
                             "matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist()},
    }
