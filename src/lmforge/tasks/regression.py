"""Text regression: one text → one number (a score, a rating, a similarity): MSE, Pearson/Spearman/MAE/RMSE.

The model is ``AutoModelForSequenceClassification`` with ``num_labels=1`` and ``problem_type="regression"``,
so a saved artifact loads and predicts with plain transformers (its single logit is the prediction). Its
pieces, in the order the stages use them::

    read / read_stream      CSV, TSV, JSONL, Parquet; the target column detected (score, label, target, …)
    label_space             ["score"]: one output; the file's targets must be numbers, at least two distinct
    loss                    mean squared error on the single logit (summed over examples; the loop normalises)
    postprocess / results   the logit as the predicted number: ``{"score": 3.81}``
    evaluation              Pearson, Spearman, MAE, RMSE, a scatter plot and the largest errors
    serving                 ``POST /v1/score {"texts": [...]}`` → ``{"results": [{"score": x}, ...]}``

    >>> task = get_task("regression")
    >>> task.postprocess(np.array([[3.5], [0.25]]), ["score"])
    [ScorePrediction(score=3.5), ScorePrediction(score=0.25)]

Sentence-pair regression (STS-B as a cross-encoder) is this task reading two text columns
(:mod:`lmforge.tasks.sentence_pairs`).
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lmforge.config import new_head_recipe
from lmforge.data.batching import pad_batch
from lmforge.data.examples import TEXT_COLUMNS, choose_column, iter_texts
from lmforge.data.sources import peek_columns
from lmforge.errors import DataError
from lmforge.files import sha256_file
from lmforge.tasks.registry import register_task

TARGET_COLUMNS = ("score", "label", "target", "value", "rating", "similarity", "y", "labels")
OUTPUT = ["score"]  # the one output's name (config.id2label of the saved model)


@dataclass(frozen=True)
class ScorePrediction:
    score: float

    def to_dict(self) -> dict:
        return {"score": round(self.score, 6)}


@dataclass
class NumericTargets:
    """Inputs (texts, or (text, text) pairs) with a number each and their source rows, as read from one file.

    ``labels`` are the targets' unit-wide bins (``"3"`` holds 3.0 ≤ y < 4.0): what the dev split stratifies by
    and what the manifest's label distribution shows."""

    texts: list
    values: list[float]
    rows: list[int]
    path: Path | None = None
    text_column: str = "text"
    label_column: str = "score"
    sha256: str = ""
    labels: list[str] = field(init=False)

    def __post_init__(self):
        self.labels = [str(math.floor(v)) for v in self.values]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> NumericTargets:
        return NumericTargets([self.texts[i] for i in indices], [self.values[i] for i in indices],
                              [self.rows[i] for i in indices], self.path, self.text_column, self.label_column,
                              self.sha256)

    def describe(self) -> dict:
        values = np.asarray(self.values, dtype=np.float64)
        return {"path": str(self.path) if self.path else None, "sha256": self.sha256, "rows": len(self),
                "text_column": self.text_column, "label_column": self.label_column,
                "target": {"min": float(values.min()), "max": float(values.max()), "mean": round(float(values.mean()), 4),
                           "std": round(float(values.std()), 4)} if len(values) else {},
                "label_distribution": dict(sorted(Counter(self.labels).items(), key=lambda kv: float(kv[0])))}


def parse_target(raw, path: Path, row: int, column: str | None) -> float:
    """A target cell as a finite float; anything else is a DataError naming the row."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"the target '{raw}' is not a number", path=path, row=row, column=column,
                        hint="a regression target must be a finite number such as 3.8 (is this a classification "
                             "file? then use --task text-classification)")
    return value


def target_column(path: Path, columns: list[str], wanted: str | None, exclude: tuple[str, ...]) -> str:
    """The target column: the one named, else the single known target name present (score, label, …)."""
    return choose_column([c for c in columns if c not in exclude] if wanted is None else columns, wanted,
                         TARGET_COLUMNS, "target", path, "--label-column")


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return 0.0  # a constant prediction carries no ranking information (and numpy would give nan)
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata  # average ranks for ties, as scipy.stats.spearmanr

    return pearson(rankdata(x), rankdata(y))


def regression_metrics(predicted: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(gold, dtype=np.float64)
    return {"pearson": pearson(predicted, gold), "spearman": spearman(predicted, gold),
            "mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error ** 2).mean())),
            "mse": float((error ** 2).mean())}


@register_task
class Regression:
    name = "regression"
    problem_type = "regression"
    peft_task_type = "SEQ_CLS"
    primary_metric = "spearman"  # STS-B's reported metric; rank agreement, blind to a shifted scale
    serving_route = "/v1/score"
    response_schema = "ScoreResponse"
    # STS-B (pair-regression, all 5,749 train pairs, 2 epochs): dev Spearman 0.835 at the shared 5e-5 with the
    # bottom sixth frozen, 0.860 with these (bench/RESULTS.md "Regression and sentence pairs")
    recipe = new_head_recipe("regression", "STS-B dev Spearman 0.860 vs 0.835 at 5e-5")

    # --- data -------------------------------------------------------------------------------------------
    def columns(self, path: Path, text_column: str | None, label_column: str | None, encoding: str,
                need_label: bool) -> tuple[str, str | None]:
        columns, _ = peek_columns(path, encoding)
        text = choose_column(columns, text_column, TEXT_COLUMNS, "text", path, "--text-column")
        if not need_label and label_column is None and not any(c.lower() in TARGET_COLUMNS for c in columns
                                                                 if c != text):
            return text, None
        return text, target_column(path, columns, label_column, (text,))

    def read_stream(self, path, *, text_column=None, label_column=None, encoding="utf-8", need_label=True):
        path = Path(path)
        text_col, label_col = self.columns(path, text_column, label_column, encoding, need_label)
        _, _, rows = iter_texts(path, text_col, label_col, encoding, need_label=need_label)
        return text_col, label_col, ((row, text, None if gold is None else parse_target(gold, path, row, label_col))
                                     for row, text, gold in rows)

    def read(self, path, *, text_column=None, label_column=None, encoding="utf-8") -> NumericTargets:
        path = Path(path)
        text_col, label_col, rows = self.read_stream(path, text_column=text_column, label_column=label_column,
                                                     encoding=encoding, need_label=True)
        inputs, values, row_ids = [], [], []
        for row, x, y in rows:
            row_ids.append(row)
            inputs.append(x)
            values.append(y)
        return NumericTargets(inputs, values, row_ids, path, text_col, label_col, sha256_file(path))

    def label_space(self, train: NumericTargets) -> list[str]:
        if len(set(train.values)) < 2:
            raise DataError(f"every target is {train.values[0] if train.values else 'missing'}; a regression needs "
                            "targets that vary", path=train.path, column=train.label_column)
        return list(OUTPUT)

    def targets(self, data: NumericTargets, labels: list[str]) -> np.ndarray:
        return np.asarray(data.values, dtype=np.float32)

    def inputs(self, data: NumericTargets) -> list:
        """What the model reads of each example (compress measures on these)."""
        return data.texts

    def scoring_targets(self, data: NumericTargets, labels: list[str], tokenizer=None, max_length=None) -> np.ndarray:
        return self.targets(data, labels)

    # --- model ------------------------------------------------------------------------------------------
    def build_model(self, model_dir: Path, labels: list[str]):
        from lmforge.models.pretrained import load_sequence_classifier

        model, new = load_sequence_classifier(model_dir, list(OUTPUT))
        model.config.problem_type = self.problem_type  # transformers' own loss is MSE too, should anyone use it
        return model, new

    def load_model(self, model_dir: Path):
        from lmforge.models.pretrained import load_sequence_classifier

        return load_sequence_classifier(model_dir)[0]

    def encode(self, tokenizer, inputs: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
        ids = tokenizer(list(inputs), truncation=True, max_length=max_length)["input_ids"]
        return ids, sum(1 for x in ids if len(x) == max_length)

    def encode_examples(self, tokenizer, data: NumericTargets, labels: list[str], max_length: int):
        ids, truncated = self.encode(tokenizer, data.texts, max_length)
        return ids, self.targets(data, labels), truncated

    def collate(self, encoded, targets, indices, pad_id: int) -> dict:
        import torch

        targets = targets if torch.is_tensor(targets) else torch.as_tensor(np.asarray(targets))
        return {**pad_batch([encoded[i] for i in indices], pad_id), "labels": targets[indices].float()}

    def loss(self, module, batch: dict):
        import torch
        import torch.nn.functional as F

        from lmforge.models.cls_forward import cls_logits, supports_cls_forward

        target = batch.pop("labels")
        if supports_cls_forward(module) and not isinstance(module, torch.nn.parallel.DistributedDataParallel):
            logits = cls_logits(module, batch["input_ids"], batch["attention_mask"])
        else:
            logits = module(**batch).logits
        return F.mse_loss(logits.float().squeeze(-1), target.float(), reduction="sum")  # (B, 1) → (B,)

    def dev_scores(self, logits: np.ndarray, targets: np.ndarray, labels) -> dict[str, float]:
        metrics = regression_metrics(np.asarray(logits)[:, 0], targets)
        return {**{k: metrics[k] for k in ("spearman", "pearson", "mae", "rmse")}, "dev_loss": metrics["mse"]}

    def score(self, logits: np.ndarray, targets: np.ndarray) -> float:
        return spearman(np.asarray(logits)[:, 0], targets)

    def agreement(self, logits: np.ndarray, reference: np.ndarray) -> float:
        """Pearson correlation of two models' predictions (1.0: the same up to scale and shift)."""
        return pearson(np.asarray(logits)[:, 0], np.asarray(reference)[:, 0])

    # --- outputs ----------------------------------------------------------------------------------------
    def postprocess(self, logits: np.ndarray, labels: list[str], inputs=None, tokenizer=None,
                    max_length=None) -> list[ScorePrediction]:
        return [ScorePrediction(float(x)) for x in np.asarray(logits)[:, 0]]

    def results(self, logits: np.ndarray, labels: list[str], inputs=None, tokenizer=None, max_length=None) -> list[dict]:
        return [{"score": p.score} for p in self.postprocess(logits, labels)]

    def prediction_row(self, prediction: ScorePrediction) -> dict:
        return prediction.to_dict()

    def prediction_columns(self, labels: list[str]) -> list[str]:
        return ["score"]

    def prediction_cells(self, prediction: ScorePrediction) -> list[str]:
        return [f"{prediction.score:.6f}"]

    def evaluation(self, labels: list[str], top_errors: int = 25, tokenizer=None,
                   max_length: int | None = None) -> RegressionEvaluation:
        return RegressionEvaluation(top_errors)

    def onnx_outputs(self) -> dict[str, dict[int, str]]:
        return {"logits": {0: "batch"}}  # (batch, 1)

    def baseline(self, output: Path, manifest: dict, train, dev) -> None:
        return None  # the TF-IDF baseline is a classifier; none for regression yet


class RegressionEvaluation:
    """What ``lmforge evaluate`` accumulates for a regression: the predicted and gold numbers (16 bytes a row)
    and a min-heap of the largest absolute errors."""

    summary_keys = ("spearman", "pearson", "mae", "rmse", "examples")

    def __init__(self, top_errors: int = 25):
        self.top_errors = top_errors
        self.gold: list[float] = []
        self.predicted: list[float] = []
        self.worst: list[tuple[float, int, dict]] = []

    def __len__(self) -> int:
        return len(self.gold)

    def check(self, chunk, path: Path, column: str | None) -> None:
        """Targets were parsed (and a non-number reported with its row) when the rows were read."""

    def add(self, chunk: list[tuple[int, object, float]], logits: np.ndarray) -> list[dict]:
        records = []
        for (row, text, gold), value in zip(chunk, np.asarray(logits)[:, 0].tolist()):
            record = {"row": row, "text": text, "gold": gold, "predicted": round(value, 6),
                      "error": round(value - gold, 6)}
            records.append(record)
            self.gold.append(gold)
            self.predicted.append(value)
            item = (abs(value - gold), row, record)
            if len(self.worst) < self.top_errors:
                heapq.heappush(self.worst, item)
            else:
                heapq.heappushpop(self.worst, item)
        return records

    def finish(self) -> dict:
        gold, predicted = np.array(self.gold), np.array(self.predicted)
        metrics: dict = {**regression_metrics(predicted, gold), "examples": len(gold),
                         "gold": {"min": float(gold.min()), "max": float(gold.max()), "mean": float(gold.mean())},
                         "predicted": {"min": float(predicted.min()), "max": float(predicted.max()),
                                       "mean": float(predicted.mean())}}
        metrics["largest_errors"] = [item[2] for item in sorted(self.worst, key=lambda x: (-x[0], x[1]))]
        return metrics

    def write(self, metrics: dict, output: Path, title: str) -> list[Path]:
        """metrics.json, a predicted-vs-gold scatter plot and report.html in ``output``."""
        import html

        from lmforge.html_report import STYLE, embed_png, pyplot, table

        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(self.gold, self.predicted, s=4, alpha=0.4)
        low, high = min(self.gold + self.predicted), max(self.gold + self.predicted)
        ax.plot([low, high], [low, high], color="grey", linewidth=1)
        ax.set_xlabel("gold")
        ax.set_ylabel("predicted")
        ax.set_title(f"Pearson {metrics['pearson']:.3f}, Spearman {metrics['spearman']:.3f}")
        scatter = output / "scatter.png"
        fig.savefig(scatter, dpi=100, bbox_inches="tight")
        plt.close(fig)
        (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        cards = "".join(f'<div class="card">{name}<b>{metrics[key]:.4f}</b></div>' for name, key in
                        (("Spearman", "spearman"), ("Pearson", "pearson"), ("MAE", "mae"), ("RMSE", "rmse")))
        errors = table(["row", "text", "gold", "predicted", "error"],
                       [[e["row"], e["text"], e["gold"], e["predicted"], e["error"]] for e in metrics["largest_errors"]],
                       text_columns=(1,))
        page = (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style>"
                f"<h1>{html.escape(title)}</h1><p class='muted'>{metrics['examples']} examples</p>"
                f"<div class='cards'>{cards}</div><h2>Predicted against gold</h2>{embed_png(scatter)}"
                f"<h2>Largest errors</h2>{errors}")
        (output / "report.html").write_text(page)
        return [output / "report.html", output / "metrics.json", scatter]
