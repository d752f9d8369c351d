"""`lmforge evaluate`: score a model on a labelled file and write metrics, plots and a report.

Rows are streamed in chunks: predictions go to ``predictions.jsonl`` as they are made, and only what the
artifact's task needs for its metrics (for a classifier: label ids and confidences, a few bytes per row)
stays in memory, so any size of file can be evaluated. The metrics, figures and report are the task's
(:meth:`lmforge.tasks.base.Task.evaluation`).
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import numpy as np

from lmforge.artifacts import read_manifest
from lmforge.data.sources import choose_split, peek_columns
from lmforge.errors import DataError
from lmforge.evaluation.metrics import expected_calibration_error
from lmforge.inference.predictor import Predictor, softmax
from lmforge.tracking import log_stage

CHUNK_ROWS = 4096


def default_columns(model_dir: Path, data: Path, encoding: str, split: str | None = None
                    ) -> tuple[str | None, str | None]:
    """The columns the model was trained on, when the evaluated file has them too."""
    train = read_manifest(model_dir).get("inputs", {}).get("train", {})
    try:
        columns, _ = peek_columns(data, encoding, split=split)
    except DataError:  # not a table (a tag file, say): the task's reader finds what it needs
        return None, None
    text = train.get("text_column") if train.get("text_column") in columns else None
    label = train.get("label_column") if train.get("label_column") in columns else None
    return text, label


class CalibrationSummary:
    """ECE before temperature scaling (``expected_calibration_error`` is after) and what abstaining does."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.index = {name: i for i, name in enumerate(predictor.labels)}
        self.correct: list[bool] = []
        self.raw_confidence: list[float] = []
        self.answered: list[bool] = []

    def add(self, chunk, logits) -> None:
        if not isinstance(logits, np.ndarray) or logits.ndim != 2:  # not a single-label classifier
            return
        p = self.predictor
        raw, probs = softmax(logits), p.probabilities(logits)
        for (_, _, label), r, q in zip(chunk, raw, probs):
            self.correct.append(int(r.argmax()) == self.index.get(label, -1))
            self.raw_confidence.append(float(r.max()))
            self.answered.append(p.answer(q)[0] != (p.abstain or {}).get("label"))

    def finish(self) -> dict:
        if not self.correct:
            return {}
        correct, answered = np.array(self.correct), np.array(self.answered)
        out = {"temperature": self.predictor.temperature, "expected_calibration_error_uncalibrated":
               expected_calibration_error(correct, np.array(self.raw_confidence))["ece"]}
        if self.predictor.abstain:
            out["abstain"] = {**self.predictor.abstain, "coverage": float(answered.mean()),
                              "accuracy_answered": float(correct[answered].mean()) if answered.any() else None}
        return out


def evaluate(model_dir: str | Path, data: str | Path, output: str | Path | None = None, *,
             text_column: str | None = None, label_column: str | None = None, encoding: str = "utf-8",
             top_errors: int = 25, backend: str = "auto", predictor: Predictor | None = None,
             split: str | None = None) -> dict:
    """Evaluate ``model_dir`` on ``data``; returns the metrics and writes the report to ``output``.
    ``split``: the split of a multi-split source (default: the one named test, else dev/val)."""
    model_dir, data = Path(model_dir), Path(data)
    split = choose_split(data, split, "test", encoding)
    predictor = predictor or Predictor.load(model_dir, backend=backend)
    task = predictor.task
    output = Path(output) if output else model_dir / "eval" / (data.stem + (f"-{split}" if split else ""))
    output.mkdir(parents=True, exist_ok=True)
    guessed_text, guessed_label = default_columns(model_dir, data, encoding, split)
    text_col, label_col, rows = task.read_stream(data, text_column=text_column or guessed_text,
                                                 label_column=label_column or guessed_label, encoding=encoding,
                                                 need_label=True, **({"split": split} if split else {}))
    scoring = task.evaluation(predictor.labels, top_errors, tokenizer=predictor.tokenizer,
                              max_length=predictor.max_length)
    # temperature scaling and abstaining are a classifier's (one probability distribution per text)
    calibration = CalibrationSummary(predictor) if task.name == "text-classification" else None
    with open(output / "predictions.jsonl", "w") as out:
        while chunk := list(islice(rows, CHUNK_ROWS)):
            scoring.check(chunk, data, label_col)
            logits = predictor.logits([x for _, x, _ in chunk])
            if calibration is not None:
                calibration.add(chunk, logits)
                logits = logits / predictor.temperature  # calibrated probabilities
            for record in scoring.add(chunk, logits):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if not len(scoring):
        raise DataError("has no rows to evaluate", path=data)
    metrics = scoring.finish()
    if calibration is not None:
        metrics.update(calibration.finish())
    metrics.update({"model": str(model_dir), "data": str(data), "text_column": text_col, "label_column": label_col,
                    "backend": predictor.backend.name, "task": task.name})
    manifest = read_manifest(model_dir)
    if manifest.get("verdict"):  # finetune's comparison with the TF-IDF baseline on the same dev rows
        metrics["verdict"] = manifest["verdict"]
    privacy = manifest.get("privacy")
    if privacy:  # a DP-SGD model: its guarantee travels with its scores
        metrics["privacy"] = {k: privacy.get(k) for k in ("epsilon_spent", "delta", "noise_multiplier", "steps_taken",
                                                          "accountant")}
    written = scoring.write(metrics, output, f"Evaluation of {model_dir.name}")
    metrics["output"] = str(output)
    log_stage("evaluate", output, params={"model": str(model_dir), "data": str(data), "backend": predictor.backend.name},
              metrics={k: metrics[k] for k in scoring.summary_keys if k in metrics}, artifacts=written,
              log_model=False)  # MLflow; a tracking failure is a warning
    return metrics
