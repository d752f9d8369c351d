"""`lmforge evaluate`: score a classifier on a labelled file and write metrics, plots and a report.

Rows are streamed in chunks: predictions go to ``predictions.jsonl`` as they are made, and only the label
ids and confidences (a few bytes per row) stay in memory, so any size of file can be evaluated.
"""

from __future__ import annotations

import heapq
import json
from itertools import islice
from pathlib import Path

import numpy as np

from lmforge.artifacts import read_manifest
from lmforge.data.examples import iter_texts
from lmforge.data.sources import peek_columns
from lmforge.errors import DataError
from lmforge.evaluation.metrics import classification_report, expected_calibration_error
from lmforge.evaluation.plots import confusion_matrix_png, reliability_png
from lmforge.evaluation.report import evaluation_html
from lmforge.inference.predictor import Predictor, softmax
from lmforge.tracking import log_stage

CHUNK_ROWS = 4096


def default_columns(model_dir: Path, data: Path, encoding: str) -> tuple[str | None, str | None]:
    """The columns the model was trained on, when the evaluated file has them too."""
    train = read_manifest(model_dir).get("inputs", {}).get("train", {})
    columns, _ = peek_columns(data, encoding)
    text = train.get("text_column") if train.get("text_column") in columns else None
    label = train.get("label_column") if train.get("label_column") in columns else None
    return text, label


def calibration_summary(predictor: Predictor, y_true: np.ndarray, y_pred: np.ndarray, raw_confidence: np.ndarray,
                        answered: np.ndarray) -> dict:
    """ECE before temperature scaling (``expected_calibration_error`` is after), and abstention's effect."""
    correct = y_true == y_pred
    out = {"temperature": predictor.temperature,
           "expected_calibration_error_uncalibrated": expected_calibration_error(correct, raw_confidence)["ece"]}
    if predictor.abstain:
        out["abstain"] = {**predictor.abstain, "coverage": float(answered.mean()),
                          "accuracy_answered": float(correct[answered].mean()) if answered.any() else None}
    return out


def evaluate(model_dir: str | Path, data: str | Path, output: str | Path | None = None, *,
             text_column: str | None = None, label_column: str | None = None, encoding: str = "utf-8",
             top_errors: int = 25, backend: str = "auto", predictor: Predictor | None = None) -> dict:
    """Evaluate ``model_dir`` on ``data``; returns the metrics and writes the report to ``output``."""
    model_dir, data = Path(model_dir), Path(data)
    predictor = predictor or Predictor.load(model_dir, backend=backend)
    output = Path(output) if output else model_dir / "eval" / data.stem
    output.mkdir(parents=True, exist_ok=True)
    guessed_text, guessed_label = default_columns(model_dir, data, encoding)
    text_col, label_col, rows = iter_texts(data, text_column or guessed_text, label_column or guessed_label,
                                           encoding, need_label=True)
    index = {name: i for i, name in enumerate(predictor.labels)}
    y_true, y_pred, confidence, raw_confidence, answered = [], [], [], [], []
    worst: list[tuple[float, int, dict]] = []  # min-heap of the most confident errors
    with open(output / "predictions.jsonl", "w") as out:
        while chunk := list(islice(rows, CHUNK_ROWS)):
            for row, _, label in chunk:
                if label not in index:
                    raise DataError(f"label '{label}' is not one the model knows ({', '.join(predictor.labels[:20])})",
                                    path=data, row=row, column=label_col,
                                    hint="evaluate on data labelled like the training set")
            logits = predictor.logits([text for _, text, _ in chunk])
            probs, raw = predictor.probabilities(logits), softmax(logits)  # calibrated, and before
            raw_confidence.extend(raw.max(-1).tolist())
            for (row, text, label), p in zip(chunk, probs):
                pred = int(p.argmax())
                answered.append(predictor.answer(p)[0] != (predictor.abstain or {}).get("label"))
                record = {"row": row, "text": text, "gold": label, "predicted": predictor.labels[pred],
                          "probability": round(float(p[pred]), 6)}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                y_true.append(index[label])
                y_pred.append(pred)
                confidence.append(float(p[pred]))
                if pred != index[label]:
                    item = (record["probability"], row, record)
                    if len(worst) < top_errors:
                        heapq.heappush(worst, item)
                    else:
                        heapq.heappushpop(worst, item)
    if not y_true:
        raise DataError("has no rows to evaluate", path=data)
    metrics = classification_report(np.array(y_true), np.array(y_pred), np.array(confidence), predictor.labels)
    metrics.update(calibration_summary(predictor, np.array(y_true), np.array(y_pred), np.array(raw_confidence),
                                       np.array(answered)))
    errors = [item[2] for item in sorted(worst, key=lambda x: (-x[0], x[1]))]
    metrics.update({"model": str(model_dir), "data": str(data), "text_column": text_col, "label_column": label_col,
                    "most_confident_errors": errors, "backend": predictor.backend.name})
    figures = {
        "confusion_matrix": confusion_matrix_png(metrics["confusion_matrix"]["matrix"], predictor.labels,
                                                 output / "confusion_matrix.png"),
        "reliability": reliability_png(metrics["calibration_bins"], metrics["expected_calibration_error"],
                                       output / "reliability.png"),
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    (output / "report.html").write_text(evaluation_html(metrics, figures, errors, f"Evaluation of {model_dir.name}"))
    metrics["output"] = str(output)
    log_stage("evaluate", output, params={"model": str(model_dir), "data": str(data), "backend": predictor.backend.name},
              metrics={k: metrics[k] for k in ("accuracy", "macro_f1", "expected_calibration_error", "examples")
                       if k in metrics}, artifacts=[output / "report.html", output / "metrics.json", *figures.values()],
              log_model=False)  # MLflow; a tracking failure is a warning
    return metrics
