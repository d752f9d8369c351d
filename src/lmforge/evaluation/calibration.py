"""Calibration and abstention, fitted on dev logits after training.

Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks") divides the logits by
one scalar T fitted to minimise the dev negative log-likelihood: the predicted class never changes, the
confidences become honest. An abstain threshold turns low-confidence answers into "none of these".

    >>> t = fit_temperature(dev_logits, dev_labels)
    >>> ece(softmax(dev_logits / t), dev_labels) < ece(softmax(dev_logits), dev_labels)
    True
    >>> threshold_for_precision(softmax(dev_logits / t), dev_labels, 0.95)
    0.62
"""

from __future__ import annotations

import numpy as np

from lmforge.evaluation.metrics import expected_calibration_error

MIN_T, MAX_T = 0.05, 20.0


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] minimising NLL(logits / T): golden-section search on log T (NLL is convex in 1/T)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    lo, hi = np.log(MIN_T), np.log(MAX_T)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return round(float(np.exp((lo + hi) / 2)), 4)


def ece(probs: np.ndarray, labels: np.ndarray) -> float:
    """Expected calibration error of the top-class confidence (15 equal-width bins, as ``evaluate``)."""
    pred = probs.argmax(-1)
    return expected_calibration_error(pred == labels, probs.max(-1))["ece"]


def threshold_for_precision(probs: np.ndarray, labels: np.ndarray, target: float) -> float | None:
    """The lowest confidence threshold at which the answered dev rows reach ``target`` precision (None: no
    threshold does, short of answering nothing)."""
    confidence, correct = probs.max(-1), probs.argmax(-1) == labels
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)  # answering the k most confident
    ok = np.nonzero(precision >= target)[0]
    if not len(ok):
        return None
    return round(float(confidence[order][ok[-1]]), 6)


def calibration_record(logits: np.ndarray, labels: np.ndarray, fit: bool = True) -> dict:
    """What the manifest stores under ``calibration``: T and the dev ECE before and after."""
    t = fit_temperature(logits, labels) if fit else 1.0
    return {"method": "temperature" if fit else "none", "temperature": t, "fitted_on": "dev", "dev_rows": len(labels),
            "dev_ece_before": round(ece(softmax(logits), labels), 5),
            "dev_ece_after": round(ece(softmax(logits / t), labels), 5)}


def abstain_record(probs: np.ndarray, labels: np.ndarray, label: str, reject_below: float | None,
                   target_precision: float | None) -> dict | None:
    """What the manifest stores under ``abstain`` (None: the model always answers)."""
    if reject_below is None and target_precision is None:
        return None
    if reject_below is not None:
        threshold, how = reject_below, "given (--reject-below)"
    else:
        threshold = threshold_for_precision(probs, labels, target_precision)
        how = f"lowest threshold reaching {target_precision:g} precision on dev"
        if threshold is None:
            threshold, how = 1.0, f"no threshold reaches {target_precision:g} precision on dev: abstains on all"
    answered = probs.max(-1) >= threshold
    correct = probs.argmax(-1) == labels
    return {"label": label, "threshold": threshold, "chosen": how,
            "dev_coverage": round(float(answered.mean()), 5),
            "dev_precision": round(float(correct[answered].mean()), 5) if answered.any() else None}
