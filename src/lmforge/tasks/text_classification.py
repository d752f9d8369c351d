"""Single-label text classification: one text → one of N labels (softmax, cross-entropy, accuracy).

The task every artifact without a recorded task is (``manifest["task"]`` absent: written before tasks
were plug-ins). Its pieces, in the order the stages use them::

    read / read_stream      CSV, TSV, JSONL, Parquet with text/label columns (lmforge.data.examples)
    label_space             sorted label names (integers numerically), at least two
    build_model             AutoModelForSequenceClassification with a new head sized for the labels
    loss                    cross-entropy on the [CLS] logits (last layer for [CLS] only on BERT: same logits)
    postprocess / results   softmax → the most probable label, its probability, every class's
    evaluation              accuracy, macro-F1, per class, confusion matrix, calibration, bootstrap CIs
    baseline                TF-IDF + logistic regression trained beside every fine-tune

    >>> task = get_task("text-classification")
    >>> task.postprocess(np.array([[0.1, 2.0]]), ["neg", "pos"])
    [Prediction(label='pos', score=0.87, scores={'neg': 0.13, 'pos': 0.87})]
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmforge.data.batching import pad_batch
from lmforge.data.examples import LabeledTexts, LabelSet, iter_texts, load_labeled_texts
from lmforge.errors import DataError
from lmforge.tasks.registry import register_task


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float]

    def to_dict(self) -> dict:
        return {"label": self.label, "score": self.score, "scores": self.scores}

    def line(self) -> str:
        """How ``lmforge predict`` prints it, before the text."""
        return f"{self.label}\t{self.score:.4f}"


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def predicted_ids(logits: np.ndarray) -> np.ndarray:
    """Logits → label ids: the one place the decision rule of single-label classification is written."""
    return np.asarray(logits).argmax(axis=-1)


def label_ids(data: LabeledTexts, labels: list[str], what: str = "labelled like the training set") -> np.ndarray:
    """``data``'s labels as ids in the model's label order; a label the model lacks is a DataError."""
    index = {name: i for i, name in enumerate(labels)}
    for label, row in zip(data.labels, data.rows):
        if label not in index:
            raise DataError(f"label '{label}' is not one the model knows ({', '.join(labels[:20])})",
                            path=data.path, row=row, column=data.label_column, hint=f"use data {what}")
    return np.array([index[label] for label in data.labels])


@register_task
class TextClassification:
    name = "text-classification"
    problem_type = "single_label_classification"
    peft_task_type = "SEQ_CLS"
    primary_metric = "accuracy"
    serving_route = "/v1/classify"
    response_schema = "ClassifyResponse"

    # --- data -------------------------------------------------------------------------------------------
    def read(self, path, *, text_column=None, label_column=None, encoding="utf-8", split=None,
             role="train") -> LabeledTexts:
        return load_labeled_texts(path, text_column, label_column, encoding, split=split, role=role)

    def inputs(self, data: LabeledTexts) -> list[str]:
        """What the model reads of each example (compress measures on these)."""
        return data.texts

    def read_stream(self, path, *, text_column=None, label_column=None, encoding="utf-8", need_label=True,
                    split=None):
        return iter_texts(path, text_column, label_column, encoding, need_label=need_label, split=split)

    def label_space(self, train: LabeledTexts) -> list[str]:
        labels = LabelSet.from_labels(train.labels)
        if len(labels) < 2:
            raise DataError(f"has a single label ('{labels.names[0]}'); a classifier needs at least two",
                            path=train.path, column=train.label_column)
        return labels.names

    def targets(self, data: LabeledTexts, labels: list[str]) -> np.ndarray:
        return np.array(LabelSet(labels).encode(data))

    # --- model ------------------------------------------------------------------------------------------
    def build_model(self, model_dir: Path, labels: list[str]):
        from lmforge.models.pretrained import load_sequence_classifier

        return load_sequence_classifier(model_dir, labels)

    def load_model(self, model_dir: Path):
        from lmforge.models.pretrained import load_sequence_classifier

        return load_sequence_classifier(model_dir)[0]

    def encode(self, tokenizer, inputs: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
        """Token ids for each text (truncated to ``max_length``) and how many texts were truncated."""
        ids = tokenizer(list(inputs), truncation=True, max_length=max_length)["input_ids"]
        truncated = sum(1 for x in ids if len(x) == max_length)  # at the limit: maybe cut (an upper bound)
        return ids, truncated

    def encode_examples(self, tokenizer, data: LabeledTexts, labels: list[str], max_length: int
                        ) -> tuple[list[list[int]], np.ndarray, int]:
        """(token ids, label ids, texts truncated) of a labelled set, for training and dev."""
        ids, truncated = self.encode(tokenizer, data.texts, max_length)
        return ids, self.targets(data, labels), truncated

    def collate(self, encoded, targets, indices, pad_id: int) -> dict:
        import torch

        labels = targets[indices] if torch.is_tensor(targets) else torch.as_tensor(np.asarray(targets)[indices])
        return {**pad_batch([encoded[i] for i in indices], pad_id), "labels": labels}

    def loss(self, module, batch: dict):
        import torch
        import torch.nn.functional as F

        from lmforge.models.cls_forward import cls_logits, supports_cls_forward

        labels = batch.pop("labels")
        if supports_cls_forward(module) and not isinstance(module, torch.nn.parallel.DistributedDataParallel):
            logits = cls_logits(module, batch["input_ids"], batch["attention_mask"])  # same logits, less work
        else:
            logits = module(**batch).logits
        return F.cross_entropy(logits.float(), labels, reduction="sum")

    def dev_scores(self, logits: np.ndarray, targets: np.ndarray, labels: Sequence[str] | int) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        from lmforge.evaluation.metrics import accuracy, macro_f1

        num_labels = labels if isinstance(labels, int) else len(labels)
        pred = predicted_ids(logits)
        loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(np.asarray(targets))).item())
        return {"accuracy": accuracy(targets, pred), "macro_f1": macro_f1(targets, pred, num_labels), "dev_loss": loss}

    def scoring_targets(self, data: LabeledTexts, labels: list[str], tokenizer=None, max_length=None) -> np.ndarray:
        """The gold targets ``score`` compares the outputs with (compress's measurements): label ids."""
        return label_ids(data, labels, "labelled like the parent's training set")

    def score(self, logits: np.ndarray, targets: np.ndarray) -> float:
        """The primary metric on already computed logits (compress's guard, measure)."""
        from lmforge.evaluation.metrics import accuracy

        return accuracy(targets, predicted_ids(logits))

    def agreement(self, logits: np.ndarray, reference: np.ndarray) -> float:
        """How often two models' decisions agree (a compressed model against its parent)."""
        return float((predicted_ids(logits) == predicted_ids(reference)).mean())

    # --- outputs ----------------------------------------------------------------------------------------
    def postprocess(self, logits: np.ndarray, labels: list[str], inputs=None, tokenizer=None,
                    max_length=None) -> list[Prediction]:
        probs = softmax(logits)
        return [Prediction(labels[best], float(row[best]), {name: float(p) for name, p in zip(labels, row)})
                for row, best in zip(probs, predicted_ids(probs).tolist())]

    def results(self, logits: np.ndarray, labels: list[str], inputs=None, tokenizer=None, max_length=None) -> list[dict]:
        return [{"label": p.label, "score": p.score, "scores": p.scores} for p in self.postprocess(logits, labels)]

    def prediction_row(self, prediction: Prediction) -> dict:
        """One line of ``lmforge predict --output x.jsonl``."""
        return {"label": prediction.label, "score": round(prediction.score, 6),
                "scores": {k: round(v, 6) for k, v in prediction.scores.items()}}

    def prediction_columns(self, labels: list[str]) -> list[str]:
        """The columns of ``lmforge predict --output x.csv`` after row and text."""
        return ["label", "score", *(f"p_{name}" for name in labels)]

    def prediction_cells(self, prediction: Prediction) -> list[str]:
        return [prediction.label, f"{prediction.score:.6f}", *(f"{s:.6f}" for s in prediction.scores.values())]

    def evaluation(self, labels: list[str], top_errors: int = 25, tokenizer=None,
                   max_length: int | None = None) -> ClassificationEvaluation:
        return ClassificationEvaluation(labels, top_errors)

    def onnx_outputs(self) -> dict[str, dict[int, str]]:
        return {"logits": {0: "batch"}}

    def baseline(self, output: Path, manifest: dict, train: LabeledTexts, dev: LabeledTexts) -> dict:
        from lmforge.costs.classical_baseline import record_baseline

        return record_baseline(output, manifest, train, dev, task=self.name)  # TF-IDF + logistic regression, priced


class ClassificationEvaluation:
    """What ``lmforge evaluate`` accumulates for a classifier while it streams rows: label ids and
    confidences (a few bytes per row) and a min-heap of the most confident errors."""

    summary_keys = ("accuracy", "macro_f1", "expected_calibration_error", "examples")

    def __init__(self, labels: list[str], top_errors: int = 25):
        self.labels, self.top_errors = labels, top_errors
        self.index = {name: i for i, name in enumerate(labels)}
        self.y_true: list[int] = []
        self.y_pred: list[int] = []
        self.confidence: list[float] = []
        self.worst: list[tuple[float, int, dict]] = []

    def __len__(self) -> int:
        return len(self.y_true)

    def check(self, chunk: list[tuple[int, str, str]], path: Path, column: str | None) -> None:
        """A gold label the model does not know is a DataError naming the row (before any work is done)."""
        for row, _, label in chunk:
            if label not in self.index:
                raise DataError(f"label '{label}' is not one the model knows ({', '.join(self.labels[:20])})",
                                path=path, row=row, column=column, hint="evaluate on data labelled like the training set")

    def add(self, chunk: list[tuple[int, str, str]], logits: np.ndarray) -> list[dict]:
        """Score one chunk; returns its rows for ``predictions.jsonl``."""
        records = []
        for (row, text, label), p in zip(chunk, softmax(logits)):
            pred = int(predicted_ids(p))
            record = {"row": row, "text": text, "gold": label, "predicted": self.labels[pred],
                      "probability": round(float(p[pred]), 6)}
            records.append(record)
            self.y_true.append(self.index[label])
            self.y_pred.append(pred)
            self.confidence.append(float(p[pred]))
            if pred != self.index[label]:
                item = (record["probability"], row, record)
                if len(self.worst) < self.top_errors:
                    heapq.heappush(self.worst, item)
                else:
                    heapq.heappushpop(self.worst, item)
        return records

    def finish(self) -> dict:
        from lmforge.evaluation.metrics import classification_report

        metrics = classification_report(np.array(self.y_true), np.array(self.y_pred), np.array(self.confidence),
                                         self.labels)
        metrics["most_confident_errors"] = [item[2] for item in sorted(self.worst, key=lambda x: (-x[0], x[1]))]
        return metrics

    def write(self, metrics: dict, output: Path, title: str) -> list[Path]:
        """metrics.json, the figures and report.html in ``output``; returns the files written."""
        from lmforge.evaluation.plots import confusion_matrix_png, reliability_png
        from lmforge.evaluation.report import evaluation_html

        figures = {
            "confusion_matrix": confusion_matrix_png(metrics["confusion_matrix"]["matrix"], self.labels,
                                                     output / "confusion_matrix.png"),
            "reliability": reliability_png(metrics["calibration_bins"], metrics["expected_calibration_error"],
                                           output / "reliability.png"),
        }
        (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        (output / "report.html").write_text(evaluation_html(metrics, figures, metrics["most_confident_errors"], title))
        return [output / "report.html", output / "metrics.json", *figures.values()]
