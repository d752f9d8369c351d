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

from lmforge.artifacts import read_manifest
from lmforge.data.sources import peek_columns
from lmforge.errors import DataError
from lmforge.inference.predictor import Predictor
from lmforge.tracking import log_stage

CHUNK_ROWS = 4096


def default_columns(model_dir: Path, data: Path, encoding: str) -> tuple[str | None, str | None]:
    """The columns the model was trained on, when the evaluated file has them too."""
    train = read_manifest(model_dir).get("inputs", {}).get("train", {})
    try:
        columns, _ = peek_columns(data, encoding)
    except DataError:  # not a table (a tag file, say): the task's reader finds what it needs
        return None, None
    text = train.get("text_column") if train.get("text_column") in columns else None
    label = train.get("label_column") if train.get("label_column") in columns else None
    return text, label


def evaluate(model_dir: str | Path, data: str | Path, output: str | Path | None = None, *,
             text_column: str | None = None, label_column: str | None = None, encoding: str = "utf-8",
             top_errors: int = 25, backend: str = "auto", predictor: Predictor | None = None) -> dict:
    """Evaluate ``model_dir`` on ``data``; returns the metrics and writes the report to ``output``."""
    model_dir, data = Path(model_dir), Path(data)
    predictor = predictor or Predictor.load(model_dir, backend=backend)
    task = predictor.task
    output = Path(output) if output else model_dir / "eval" / data.stem
    output.mkdir(parents=True, exist_ok=True)
    guessed_text, guessed_label = default_columns(model_dir, data, encoding)
    text_col, label_col, rows = task.read_stream(data, text_column=text_column or guessed_text,
                                                 label_column=label_column or guessed_label, encoding=encoding,
                                                 need_label=True)
    scoring = task.evaluation(predictor.labels, top_errors, tokenizer=predictor.tokenizer,
                              max_length=predictor.max_length)
    with open(output / "predictions.jsonl", "w") as out:
        while chunk := list(islice(rows, CHUNK_ROWS)):
            scoring.check(chunk, data, label_col)
            for record in scoring.add(chunk, predictor.logits([x for _, x, _ in chunk])):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if not len(scoring):
        raise DataError("has no rows to evaluate", path=data)
    metrics = scoring.finish()
    metrics.update({"model": str(model_dir), "data": str(data), "text_column": text_col, "label_column": label_col,
                    "backend": predictor.backend.name, "task": task.name})
    written = scoring.write(metrics, output, f"Evaluation of {model_dir.name}")
    metrics["output"] = str(output)
    log_stage("evaluate", output, params={"model": str(model_dir), "data": str(data), "backend": predictor.backend.name},
              metrics={k: metrics[k] for k in scoring.summary_keys if k in metrics}, artifacts=written,
              log_model=False)  # MLflow; a tracking failure is a warning
    return metrics
