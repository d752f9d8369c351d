"""Multi-label text classification: one text → any number of N labels (sigmoid, BCE, per-label thresholds).

The model is ``AutoModelForSequenceClassification`` with ``problem_type="multi_label_classification"`` saved
in its config, so plain transformers reloads it (its logits are one score per label). Its pieces, in the order
the stages use them::

    read / read_stream      labels as lists: ``joy,love`` cells, JSON arrays (``["joy", "love"]`` in a CSV cell,
                            real lists in JSONL), integer ids mapped to names by a ``labels.txt`` beside the file
                            (GoEmotions: headerless ``text<TAB>ids<TAB>comment id``; CSV-style quoted texts
                            unquoted); ``[]`` is a row with no label
    label_space             labels.txt's names when ids were mapped through it, else every label seen in training
                            (sorted; integers numerically), at least two
    loss                    binary cross-entropy on the logits, summed over labels and examples
    tune_decision           per-label thresholds maximising each label's dev F1 (0.5 for a label with no dev
                            positive), and what to answer when no label passes: the top label or nothing,
                            whichever gives the higher dev macro-F1; recorded as ``manifest["decision"]``
    postprocess / results   sigmoid → the labels that pass their threshold, best first, with every label's score
    evaluation              micro/macro/samples F1, per-label precision/recall/F1/support/threshold, exact match
    serving                 ``POST /v1/classify-multi-label {"texts": [...]}`` →
                            ``{"results": [{"labels": [...], "scores": {...}}, ...]}``

    >>> task = get_task("multi-label")
    >>> task.postprocess(np.array([[2.0, -1.0, 0.5]]), ["joy", "anger", "love"])
    [LabelsPrediction(labels=['joy', 'love'], scores={'joy': 0.88, 'anger': 0.27, 'love': 0.62})]
"""

from __future__ import annotations

import heapq
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lmforge.config import new_head_recipe
from lmforge.data.batching import pad_batch
from lmforge.data.examples import LABEL_COLUMNS, TEXT_COLUMNS, LabelSet, choose_column, where
from lmforge.data.sources import detect_format, iter_records, peek_columns
from lmforge.errors import DataError
from lmforge.files import sha256_file
from lmforge.tasks.registry import register_task

LABEL_LIST_COLUMNS = (*LABEL_COLUMNS, "emotions", "tags", "categories", "topics", "classes")
ID_NAMES_FILE = "labels.txt"  # one label name per line, line i naming id i (GoEmotions' emotions.txt)
DEFAULT_THRESHOLD = 0.5
NONE_PASS_RULES = ("top-label", "none")  # what to answer when no label passes its threshold


# --- reading ------------------------------------------------------------------------------------------------

@dataclass
class MultiLabelTexts:
    """Texts with a list of labels each and their source rows, as read from one file.

    ``labels`` holds one string per row, the row's rarest label (``""`` for none): what a held-out dev split
    stratifies by, so every label keeps its share of rows on both sides."""

    texts: list[str]
    label_sets: list[list[str]]
    rows: list[int]
    path: Path | None = None
    text_column: str = "text"
    label_column: str = "labels"
    sha256: str = ""
    split: str | None = None
    vocabulary: list[str] | None = None  # the names of labels.txt, when ids were mapped through it
    labels: list[str] = field(init=False)

    def __post_init__(self):
        counts = Counter(label for labels in self.label_sets for label in labels)
        self.labels = [min(labels, key=lambda x: (counts[x], x)) if labels else "" for labels in self.label_sets]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> MultiLabelTexts:
        return MultiLabelTexts([self.texts[i] for i in indices], [self.label_sets[i] for i in indices],
                               [self.rows[i] for i in indices], self.path, self.text_column, self.label_column,
                               self.sha256, self.split, self.vocabulary)

    def describe(self) -> dict:
        counts = Counter(label for labels in self.label_sets for label in labels)
        order = self.vocabulary or LabelSet.from_labels(list(counts)).names
        described = {"path": str(self.path) if self.path else None, "sha256": self.sha256, "rows": len(self),
                     "text_column": self.text_column, "label_column": self.label_column,
                     "label_distribution": {name: counts[name] for name in order if counts[name]},
                     "labels_per_row": dict(sorted(Counter(len(x) for x in self.label_sets).items()))}
        if self.split is not None:
            described["split"] = self.split
        return described


def id_names_beside(path: Path) -> list[str] | None:
    """The names in a ``labels.txt`` beside ``path`` (a label file's integer ids index them), or None."""
    names_file = path.parent / ID_NAMES_FILE if path.is_file() else None
    if names_file is None or not names_file.is_file():
        return None
    return [line.strip() for line in names_file.read_text(encoding="utf-8").splitlines() if line.strip()]


def parse_label_cell(raw) -> list[str]:
    """A label cell as a list of names: a list, a JSON array, or comma-separated names. ValueError says why not."""
    if isinstance(raw, (list, tuple)):
        items = list(raw)
    elif raw is None:
        raise ValueError("the labels are missing")
    else:
        cell = str(raw).strip()
        if not cell:
            raise ValueError("the labels are empty (write [] for a row with no label)")
        if cell.startswith("["):
            try:
                items = json.loads(cell)
            except json.JSONDecodeError as e:
                raise ValueError(f"'{cell[:60]}' is not a JSON array ({e.msg} at character {e.colno})") from None
            if not isinstance(items, list):
                raise ValueError(f"'{cell[:60]}' is not a JSON array")
        else:
            items = cell.split(",")
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ValueError(f"holds a {type(item).__name__} ({item!r}) among its labels; labels are names or "
                             "integer ids")
        name = str(item).strip()
        if not name:
            raise ValueError(f"has an empty label in '{raw}'")
        if name not in names:
            names.append(name)
    return names


def unquote_field(text: str) -> str:
    """A CSV-style quoted field read from a TSV without quoting → its text: GoEmotions quotes about 1,100
    texts as a whole, doubling the quotes inside (``""``). Only a field quoted so is changed."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
    return text


def ids_to_names(ids: list[str], names: list[str]) -> list[str]:
    """Integer label ids → their names in ``labels.txt``; ValueError for an id past its end."""
    for x in ids:
        if int(x) >= len(names):
            raise ValueError(f"label id {x} is not in {ID_NAMES_FILE} ({len(names)} names: ids 0–{len(names) - 1})")
    return [names[int(x)] for x in ids]


def _looks_like_id_lists(values: list[str]) -> bool:
    return bool(values) and all(v and all(p.strip().isdigit() for p in v.split(",")) for v in values)


def detect_label_columns(path: Path, columns: list[str], sample, text_column: str | None, label_column: str | None,
                         need_label: bool) -> tuple[str, str | None]:
    """(text column, label column). Headerless files (GoEmotions): the text is the longest column, the labels
    the column of comma-separated integer ids (else, with two columns, the other one)."""
    if all(c.startswith("column_") for c in columns) and (text_column is None or label_column is None):
        mean_len = {c: sum(len(str(r.fields.get(c, ""))) for r in sample) for c in columns}
        text_column = text_column or max((c for c in columns if c != label_column), key=mean_len.__getitem__)
        others = [c for c in columns if c != text_column]
        ids = [c for c in others if _looks_like_id_lists([str(r.fields.get(c, "")).strip() for r in sample])]
        if label_column is None and len(ids) == 1:
            label_column = ids[0]
        elif label_column is None and len(others) == 1 and need_label:
            label_column = others[0]
        elif label_column is None and need_label:
            raise DataError(f"has no header, and which of {', '.join(others)} holds the labels is not clear",
                            path=path, hint="name it with --label-column")
    text = choose_column(columns, text_column, TEXT_COLUMNS, "text", path, "--text-column")
    if not need_label and label_column is None and not any(c.lower() in LABEL_LIST_COLUMNS for c in columns):
        return text, None
    return text, choose_column(columns, label_column, LABEL_LIST_COLUMNS, "label", path, "--label-column",
                               exclude=text)


# --- decisions: thresholds and the rule when none passes ------------------------------------------------------

def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float64)))  # no overflow for large |x|


def best_threshold(scores: np.ndarray, gold: np.ndarray) -> float | None:
    """The threshold on ``scores`` (predict ``score >= t``) with the highest F1 against ``gold`` (bool), placed
    midway between the last score taken and the next; None when ``gold`` has no positive."""
    positives = int(gold.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], gold[order]
    tp = np.cumsum(y)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + positives)
    cut = np.r_[s[1:] < s[:-1], True]  # only between distinct scores: equal scores are taken together
    best = int(np.argmax(np.where(cut, f1, -1.0)))
    return float((s[best] + s[best + 1]) / 2) if best + 1 < len(s) else float(s[best])


def decide(probs: np.ndarray, thresholds: np.ndarray, when_none_pass: str) -> np.ndarray:
    """(N, K) bool: the labels passing their thresholds; a row with none gets its top label under "top-label"."""
    chosen = probs >= thresholds
    if when_none_pass == "top-label" and len(probs):
        empty = ~chosen.any(axis=1)
        chosen[np.flatnonzero(empty), probs[empty].argmax(axis=1)] = True
    return chosen


def f1_scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Micro, macro and samples F1 of two (N, K) bool matrices (sklearn, zero_division 0)."""
    from sklearn.metrics import f1_score

    return {f"{avg}_f1": float(f1_score(gold, predicted, average=avg, zero_division=0))
            for avg in ("micro", "macro", "samples")}


def fit_decision(probs: np.ndarray, gold: np.ndarray, labels: list[str]) -> dict:
    """Per-label thresholds maximising dev F1, and the none-pass rule with the higher dev macro-F1."""
    gold = np.asarray(gold).astype(bool)
    found = [best_threshold(probs[:, j], gold[:, j]) for j in range(len(labels))]
    thresholds = np.array([DEFAULT_THRESHOLD if t is None else t for t in found])
    tried = {rule: f1_scores(gold, decide(probs, thresholds, rule)) for rule in NONE_PASS_RULES}
    rule = max(NONE_PASS_RULES, key=lambda r: (tried[r]["macro_f1"], tried[r]["samples_f1"]))
    return {"rule": "per-label thresholds on sigmoid scores, each maximising that label's F1 on dev",
            "thresholds": {name: round(float(t), 6) for name, t in zip(labels, thresholds)},
            "default_threshold": DEFAULT_THRESHOLD,
            "untuned": [name for name, t in zip(labels, found) if t is None],  # no dev positive: 0.5
            "when_none_pass": rule,
            "dev": {**tried[rule], "macro_f1_at_0.5": f1_scores(gold, probs >= DEFAULT_THRESHOLD)["macro_f1"],
                    "macro_f1_by_none_pass_rule": {r: tried[r]["macro_f1"] for r in NONE_PASS_RULES}}}


def macro_f1_interval(gold: np.ndarray, predicted: np.ndarray, samples: int = 1000, seed: int = 0,
                      level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of macro-F1: resampling rows as weights, one matrix product per resample."""
    n = len(gold)
    rng = np.random.default_rng(seed)
    g, p = gold.astype(np.float64), predicted.astype(np.float64)
    tp_rows, fp_rows, fn_rows = g * p, (1 - g) * p, g * (1 - p)
    scores = np.empty(samples)
    for i in range(samples):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        tp, fp, fn = w @ tp_rows, w @ fp_rows, w @ fn_rows
        denom = 2 * tp + fp + fn
        scores[i] = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0).mean()
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return [float(np.percentile(scores, lo)), float(np.percentile(scores, hi))]


@dataclass(frozen=True)
class LabelsPrediction:
    labels: list[str]         # the labels that pass, most probable first
    scores: dict[str, float]  # every label's sigmoid score

    def to_dict(self) -> dict:
        return {"labels": self.labels, "scores": self.scores}

    def line(self) -> str:
        """How ``lmforge predict`` prints it, before the text."""
        return ",".join(self.labels) + "\t" + ",".join(f"{self.scores[x]:.4f}" for x in self.labels)


def label_cell(labels: list[str]) -> str:
    """Labels as one CSV cell the reader reads back: comma-separated, or a JSON array when a name has a comma."""
    return json.dumps(labels, ensure_ascii=False) if any("," in x for x in labels) else ",".join(labels)


# --- the task -----------------------------------------------------------------------------------------------

@register_task
class MultiLabelClassification:
    name = "multi-label"
    problem_type = "multi_label_classification"
    peft_task_type = "SEQ_CLS"
    primary_metric = "macro_f1"  # at the dev-tuned thresholds; the GoEmotions paper's metric
    serving_route = "/v1/classify-multi-label"
    response_schema = "MultiLabelResponse"
    # Each label's sigmoid starts at 0.5 and must learn its base rate (2% for a rare emotion): at the shared
    # 5e-5, nothing frozen or not, GoEmotions reached 0.244 dev macro-F1 after one epoch; with these, 0.523.
    recipe = new_head_recipe("multi-label", "GoEmotions dev macro-F1 0.52 vs 0.24 at 5e-5")

    def __init__(self, decision: dict | None = None):
        self.decision = decision or {}  # manifest["decision"] of the artifact this instance serves

    def for_artifact(self, manifest: dict) -> MultiLabelClassification:
        """This task with the thresholds and none-pass rule an artifact recorded (registry.task_for_artifact)."""
        return MultiLabelClassification(manifest.get("decision"))

    def thresholds(self, labels: list[str]) -> np.ndarray:
        recorded = self.decision.get("thresholds", {})
        return np.array([recorded.get(name, DEFAULT_THRESHOLD) for name in labels])

    def decided(self, logits: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(sigmoid scores, chosen labels) under the artifact's decision (0.5 and nothing when none passes,
        for a model without one)."""
        probs = sigmoid(logits)
        return probs, decide(probs, self.thresholds(labels), self.decision.get("when_none_pass", "none"))

    # --- data -------------------------------------------------------------------------------------------
    def read_stream(self, path, *, text_column=None, label_column=None, encoding="utf-8", need_label=True,
                    split=None):
        path = Path(path)
        columns, sample = peek_columns(path, encoding, split=split)
        text_col, label_col = detect_label_columns(path, columns, sample, text_column, label_column, need_label)
        names = id_names_beside(path)
        quoted = detect_format(path) in ("tsv", "text")  # TSVs are read without quoting: unquote CSV-style fields
        shown = where(path, split)

        def rows():
            for record in iter_records(path, encoding, split=split):
                source = record.origin or shown
                text = record.fields.get(text_col)
                if text is None or not str(text).strip():
                    raise DataError("the text is empty", path=source, row=record.row, line=record.line,
                                    column=text_col, hint="remove the row, or clean the file first with "
                                                          "`lmforge data prepare`")
                text = unquote_field(str(text)) if quoted else str(text)
                if label_col is None:
                    yield record.row, text, None
                    continue
                try:
                    labels = parse_label_cell(record.fields.get(label_col))
                    if names is not None and labels and all(x.isdigit() for x in labels):
                        labels = ids_to_names(labels, names)
                except ValueError as e:
                    raise DataError(str(e), path=source, row=record.row, line=record.line, column=label_col,
                                    hint='write labels as a list: joy,love or ["joy", "love"] (ids with a '
                                         f"{ID_NAMES_FILE} beside the file)") from None
                yield record.row, text, labels

        return text_col, label_col, rows()

    def read(self, path, *, text_column=None, label_column=None, encoding="utf-8", split=None,
             role="train") -> MultiLabelTexts:
        path = Path(path)
        text_col, label_col, rows = self.read_stream(path, text_column=text_column, label_column=label_column,
                                                     encoding=encoding, need_label=True, split=split)
        texts, label_sets, row_ids = [], [], []
        for row, text, labels in rows:
            row_ids.append(row)
            texts.append(text)
            label_sets.append(labels)
        names = id_names_beside(path)
        mapped = names is not None and any(x in names for labels in label_sets for x in labels)
        return MultiLabelTexts(texts, label_sets, row_ids, path, text_col, label_col, sha256_file(path), split,
                               names if mapped else None)

    def label_space(self, train: MultiLabelTexts) -> list[str]:
        seen = {label for labels in train.label_sets for label in labels}
        if len(seen) < 2:
            raise DataError(f"has {len(seen)} distinct label(s); a multi-label classifier needs at least two",
                            path=train.path, column=train.label_column)
        if train.vocabulary:  # labels.txt declares the label space, in id order, seen in training or not
            return list(train.vocabulary)
        return LabelSet.from_labels(sorted(seen)).names

    def targets(self, data: MultiLabelTexts, labels: list[str]) -> np.ndarray:
        """(N, K) float32 multi-hot targets in the model's label order."""
        index = {name: i for i, name in enumerate(labels)}
        out = np.zeros((len(data), len(labels)), dtype=np.float32)
        for i, (names, row) in enumerate(zip(data.label_sets, data.rows)):
            for name in names:
                if name not in index:
                    raise DataError(f"label '{name}' is not one the model knows ({', '.join(labels[:20])}"
                                    f"{' …' if len(labels) > 20 else ''})", path=data.path, row=row,
                                    column=data.label_column, hint="use data labelled like the training set")
                out[i, index[name]] = 1.0
        return out

    def inputs(self, data: MultiLabelTexts) -> list[str]:
        return data.texts

    def scoring_targets(self, data: MultiLabelTexts, labels: list[str], tokenizer=None, max_length=None):
        return self.targets(data, labels)

    # --- model ------------------------------------------------------------------------------------------
    def build_model(self, model_dir: Path, labels: list[str]):
        from lmforge.models.pretrained import load_sequence_classifier

        model, new = load_sequence_classifier(model_dir, labels)
        model.config.problem_type = self.problem_type  # transformers' own loss is then BCE-with-logits too
        return model, new

    def load_model(self, model_dir: Path):
        from lmforge.models.pretrained import load_sequence_classifier

        return load_sequence_classifier(model_dir)[0]

    def encode(self, tokenizer, inputs: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
        ids = tokenizer(list(inputs), truncation=True, max_length=max_length)["input_ids"]
        return ids, sum(1 for x in ids if len(x) == max_length)

    def encode_examples(self, tokenizer, data: MultiLabelTexts, labels: list[str], max_length: int):
        ids, truncated = self.encode(tokenizer, data.texts, max_length)
        return ids, self.targets(data, labels), truncated

    def collate(self, encoded, targets, indices, pad_id: int) -> dict:
        import torch

        targets = targets if torch.is_tensor(targets) else torch.as_tensor(np.asarray(targets))
        return {**pad_batch([encoded[i] for i in indices], pad_id), "labels": targets[indices].float()}  # (B, K)

    def loss(self, module, batch: dict):
        import torch
        import torch.nn.functional as F

        from lmforge.models.cls_forward import cls_logits, supports_cls_forward

        target = batch.pop("labels")
        if supports_cls_forward(module) and not isinstance(module, torch.nn.parallel.DistributedDataParallel):
            logits = cls_logits(module, batch["input_ids"], batch["attention_mask"])  # same logits, less work
        else:
            logits = module(**batch).logits
        # summed over labels too: an example's loss is the negative log-likelihood of its whole label set
        return F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="sum")

    def dev_scores(self, logits: np.ndarray, targets: np.ndarray, labels) -> dict[str, float]:
        """Scores at thresholds tuned on these same logits: the rule the artifact would ship with, so the
        best checkpoint is the one best after tuning (at 0.5, rare labels score 0 for most of training)."""
        import torch
        import torch.nn.functional as F

        labels = labels if not isinstance(labels, int) else [str(i) for i in range(labels)]
        decision = fit_decision(sigmoid(logits), targets, labels)
        loss = F.binary_cross_entropy_with_logits(torch.from_numpy(np.asarray(logits, dtype=np.float32)),
                                                  torch.from_numpy(np.asarray(targets, dtype=np.float32)),
                                                  reduction="sum").item() / max(1, len(logits))
        dev = decision["dev"]
        return {"macro_f1": dev["macro_f1"], "micro_f1": dev["micro_f1"], "samples_f1": dev["samples_f1"],
                "macro_f1_at_0.5": dev["macro_f1_at_0.5"], "dev_loss": float(loss)}

    def tune_decision(self, logits: np.ndarray, targets: np.ndarray, labels: list[str]) -> dict:
        """What finetune records as ``manifest["decision"]``, fitted on the saved model's dev logits."""
        return fit_decision(sigmoid(logits), targets, labels)

    def score(self, logits: np.ndarray, targets: np.ndarray) -> float:
        """Macro-F1 under the artifact's decision (compress's guard)."""
        return f1_scores(np.asarray(targets).astype(bool), self.decided_by_position(logits))["macro_f1"]

    def decided_by_position(self, logits: np.ndarray) -> np.ndarray:
        """:meth:`decided` when only label positions are known (compress): the recorded thresholds are in the
        model's label order."""
        probs = sigmoid(logits)
        thresholds = np.array(list(self.decision.get("thresholds", {}).values()) or
                              [DEFAULT_THRESHOLD] * probs.shape[1])
        return decide(probs, thresholds, self.decision.get("when_none_pass", "none"))

    def agreement(self, logits: np.ndarray, reference: np.ndarray) -> float:
        """Share of texts for which two models choose exactly the same label set."""
        a, b = self.decided_by_position(logits), self.decided_by_position(reference)
        return float((a == b).all(axis=1).mean()) if len(a) else 1.0

    # --- outputs ----------------------------------------------------------------------------------------
    def postprocess(self, logits: np.ndarray, labels: list[str], inputs=None, tokenizer=None,
                    max_length=None) -> list[LabelsPrediction]:
        probs, chosen = self.decided(np.asarray(logits), labels)
        out = []
        for row, picked in zip(probs, chosen):
            ranked = sorted(np.flatnonzero(picked).tolist(), key=lambda j: -row[j])
            out.append(LabelsPrediction([labels[j] for j in ranked],
                                        {name: float(p) for name, p in zip(labels, row)}))
        return out

    def results(self, logits: np.ndarray, labels: list[str], inputs=None, tokenizer=None,
                max_length=None) -> list[dict]:
        return [p.to_dict() for p in self.postprocess(logits, labels)]

    def prediction_row(self, prediction: LabelsPrediction) -> dict:
        return {"labels": prediction.labels, "scores": {k: round(v, 6) for k, v in prediction.scores.items()}}

    def prediction_columns(self, labels: list[str]) -> list[str]:
        return ["labels", *(f"p_{name}" for name in labels)]

    def prediction_cells(self, prediction: LabelsPrediction) -> list[str]:
        return [label_cell(prediction.labels), *(f"{s:.6f}" for s in prediction.scores.values())]

    def evaluation(self, labels: list[str], top_errors: int = 25, tokenizer=None,
                   max_length: int | None = None) -> MultiLabelEvaluation:
        return MultiLabelEvaluation(self, labels, top_errors)

    def onnx_outputs(self) -> dict[str, dict[int, str]]:
        return {"logits": {0: "batch"}}  # (batch, labels)

    def baseline(self, output: Path, manifest: dict, train: MultiLabelTexts, dev: MultiLabelTexts) -> dict:
        """TF-IDF + one-vs-rest logistic regression scored on the same dev rows with the same threshold tuning,
        recorded in the manifest (with the verdict). It is not saved as a model directory: lmforge's saved
        TF-IDF model is single-label (softmax)."""
        from lmforge.artifacts import write_manifest

        try:
            record = tfidf_one_vs_rest(train, dev, manifest["labels"])
        except ValueError as e:  # e.g. texts without word characters: the fine-tuned model is already saved
            record = {"error": str(e)}
        manifest["baseline"] = record
        tuned = manifest.get("metrics", {}).get("dev", {}).get("macro_f1")
        if "macro_f1" in record and tuned is not None:
            points = round(100 * (tuned - record["macro_f1"]), 2)
            manifest["verdict"] = {
                "winner": "baseline" if points <= 0 else "fine-tuned", "points": points,
                "message": f"dev macro-F1: fine-tuned {tuned:.4f}, TF-IDF one-vs-rest baseline {record['macro_f1']:.4f}"
                           + (" (the baseline is as good or better; it is recorded, not saved)" if points <= 0 else "")}
        write_manifest(output, manifest)
        return record


def tfidf_one_vs_rest(train: MultiLabelTexts, dev: MultiLabelTexts, labels: list[str]) -> dict:
    """Word 1–2-gram TF-IDF, one logistic regression per label, thresholds tuned on dev like the model's."""
    from sklearn.linear_model import LogisticRegression

    from lmforge.models.tfidf import C, MAX_FEATURES, WORD

    t0 = time.perf_counter()
    vectorizer = WORD.vectorizer(max_features=MAX_FEATURES)
    x_train = vectorizer.fit_transform(train.texts)
    x_dev = vectorizer.transform(dev.texts)
    task = MultiLabelClassification()
    y_train, y_dev = task.targets(train, labels), task.targets(dev, labels)
    probs = np.zeros((len(dev), len(labels)))
    for j in range(len(labels)):
        if 0 < y_train[:, j].sum() < len(y_train):  # a label on every row or none: its rate
            model = LogisticRegression(C=C, solver="liblinear").fit(x_train, y_train[:, j])
            probs[:, j] = model.predict_proba(x_dev)[:, 1]
        else:
            probs[:, j] = y_train[:, j].mean()
    decision = fit_decision(probs, y_dev, labels)
    return {"model": f"tfidf-one-vs-rest-logistic-regression ({WORD.describe()}, C={C:g})",
            "macro_f1": decision["dev"]["macro_f1"], "micro_f1": decision["dev"]["micro_f1"],
            "samples_f1": decision["dev"]["samples_f1"], "evaluated_on": "dev", "dev_rows": len(dev),
            "train_rows": len(train), "train_wall_s": round(time.perf_counter() - t0, 2),
            "saved": False}


class MultiLabelEvaluation:
    """What ``lmforge evaluate`` accumulates for a multi-label classifier: gold and chosen label matrices
    (2 × labels bytes a row, and the same at 0.5 for comparison) and a min-heap of the worst rows."""

    summary_keys = ("macro_f1", "micro_f1", "samples_f1", "subset_accuracy", "examples")

    def __init__(self, task: MultiLabelClassification, labels: list[str], top_errors: int = 25):
        self.task, self.labels, self.top_errors = task, labels, top_errors
        self.index = {name: i for i, name in enumerate(labels)}
        self.gold: list[np.ndarray] = []
        self.chosen: list[np.ndarray] = []
        self.at_half: list[np.ndarray] = []
        self.none_passed = 0
        self.worst: list[tuple[int, float, int, dict]] = []

    def __len__(self) -> int:
        return sum(len(g) for g in self.gold)

    def check(self, chunk, path: Path, column: str | None) -> None:
        """A gold label the model does not know is a DataError naming the row (before any work is done)."""
        for row, _, labels in chunk:
            for name in labels:
                if name not in self.index:
                    raise DataError(f"label '{name}' is not one the model knows ({', '.join(self.labels[:20])})",
                                    path=path, row=row, column=column,
                                    hint="evaluate on data labelled like the training set")

    def add(self, chunk, logits: np.ndarray) -> list[dict]:
        probs, chosen = self.task.decided(np.asarray(logits), self.labels)
        gold = np.zeros_like(chosen)
        for i, (_, _, labels) in enumerate(chunk):
            gold[i, [self.index[x] for x in labels]] = True
        self.gold.append(gold)
        self.chosen.append(chosen)
        self.at_half.append(probs >= DEFAULT_THRESHOLD)
        self.none_passed += int((~(probs >= self.task.thresholds(self.labels)).any(axis=1)).sum())
        records = []
        for (row, text, labels), p, c, g in zip(chunk, probs, chosen, gold):
            predicted = [self.labels[j] for j in sorted(np.flatnonzero(c).tolist(), key=lambda j: -p[j])]
            record = {"row": row, "text": text, "gold": labels, "predicted": predicted,
                      "scores": {name: round(float(x), 4) for name, x in zip(self.labels, p)}}
            records.append(record)
            wrong = int((c != g).sum())
            if wrong:
                item = (wrong, float(np.abs(p - g).max()), -row, record)
                if len(self.worst) < self.top_errors:
                    heapq.heappush(self.worst, item)
                else:
                    heapq.heappushpop(self.worst, item)
        return records

    def finish(self) -> dict:
        from sklearn.metrics import precision_recall_fscore_support

        gold, chosen = np.concatenate(self.gold), np.concatenate(self.chosen)
        p, r, f, s = precision_recall_fscore_support(gold, chosen, average=None, zero_division=0)
        thresholds = self.task.thresholds(self.labels)
        per_label = {name: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                            "support": int(s[j]), "predicted": int(chosen[:, j].sum()),
                            "threshold": round(float(thresholds[j]), 6)} for j, name in enumerate(self.labels)}
        averages = {}
        for avg in ("micro", "macro", "samples"):
            ap, ar, af, _ = precision_recall_fscore_support(gold, chosen, average=avg, zero_division=0)
            averages[avg] = {"precision": float(ap), "recall": float(ar), "f1": float(af)}
        at_half = f1_scores(gold, np.concatenate(self.at_half))
        return {
            "examples": int(len(gold)),
            "macro_f1": averages["macro"]["f1"], "micro_f1": averages["micro"]["f1"],
            "samples_f1": averages["samples"]["f1"],
            "subset_accuracy": float((gold == chosen).all(axis=1).mean()),  # the whole label set right
            "hamming_loss": float((gold != chosen).mean()),
            "averages": averages, "per_label": per_label,
            "confidence_intervals": {"level": 0.95, "samples": 1000, "macro_f1": macro_f1_interval(gold, chosen)},
            "at_threshold_0.5": {**at_half, "note": "one threshold of 0.5 for every label, nothing when none passes"},
            "decision": {"when_none_pass": self.task.decision.get("when_none_pass", "none"),
                         "rows_with_no_label_passing": self.none_passed,
                         "tuned": bool(self.task.decision.get("thresholds"))},
            "labels_per_row": {"gold": float(gold.sum(1).mean()), "predicted": float(chosen.sum(1).mean())},
            "largest_errors": [item[3] for item in sorted(self.worst, key=lambda x: (-x[0], -x[1], -x[2]))],
        }

    def write(self, metrics: dict, output: Path, title: str) -> list[Path]:
        """metrics.json, a per-label F1 bar chart and report.html in ``output``."""
        import html

        from lmforge.html_report import STYLE, embed_png, pyplot, table

        plt = pyplot()
        names = list(metrics["per_label"])
        fig, ax = plt.subplots(figsize=(6, max(2.5, 0.22 * len(names))))
        ax.barh(names[::-1], [metrics["per_label"][n]["f1"] for n in names][::-1])
        ax.set_xlim(0, 1)
        ax.set_xlabel("F1 at the tuned threshold")
        chart = output / "per_label_f1.png"
        fig.savefig(chart, dpi=100, bbox_inches="tight")
        plt.close(fig)
        (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        cards = "".join(f'<div class="card">{name}<b>{metrics[key]:.4f}</b></div>' for name, key in
                        (("macro-F1", "macro_f1"), ("micro-F1", "micro_f1"), ("samples-F1", "samples_f1"),
                         ("exact match", "subset_accuracy")))
        rows = [[n, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"], v["predicted"],
                 f"{v['threshold']:.3f}"] for n, v in metrics["per_label"].items()]
        errors = table(["row", "text", "gold", "predicted"],
                       [[e["row"], e["text"], ", ".join(e["gold"]), ", ".join(e["predicted"])]
                        for e in metrics["largest_errors"]], text_columns=(1,))
        ci = metrics["confidence_intervals"]["macro_f1"]
        page = (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style>"
                f"<h1>{html.escape(title)}</h1><p class='muted'>{metrics['examples']} examples; macro-F1 95% CI "
                f"{ci[0]:.4f}–{ci[1]:.4f}; at one threshold of 0.5: macro-F1 "
                f"{metrics['at_threshold_0.5']['macro_f1']:.4f}; no label passing: "
                f"{metrics['decision']['rows_with_no_label_passing']} rows "
                f"(answered: {html.escape(metrics['decision']['when_none_pass'])})</p>"
                f"<div class='cards'>{cards}</div><h2>Per label</h2>"
                + table(["label", "precision", "recall", "F1", "support", "predicted", "threshold"], rows)
                + f"<h2>F1 per label</h2>{embed_png(chart)}<h2>Largest errors</h2>{errors}")
        (output / "report.html").write_text(page)
        return [output / "report.html", output / "metrics.json", chart]
