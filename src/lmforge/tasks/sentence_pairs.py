"""Sentence pairs as a cross-encoder: two texts read together (``tokenizer(a, b)``) → a label or a number.

Two tasks, each the single-text task reading two text columns instead of one:

    pair-classification   paraphrase / duplicate / entailment (LCQMC, ATEC, QQP, MRPC): text classification's
                          labels, loss, metrics and report
    pair-regression       similarity scores (STS-B): regression's MSE, Pearson/Spearman/MAE/RMSE and report

Columns: ``text_a/text_b``, ``sentence1/sentence2``, ``question1/question2`` (… see ``PAIR_COLUMNS``) are
detected; name others as ``--text-column first,second``. Headerless files (LCQMC's ``.txt``, ATEC) take the
last column as the label and the two before it as the pair; a file read as one column whose cells hold tabs
is split on them (LCQMC's ``.txt`` and ATEC's tab-separated ``.csv``), and stray U+FEFF marks are dropped.

Inputs everywhere are ``(a, b)`` pairs: ``Predictor.predict([("how old are you", "what is your age")])``,
``lmforge predict`` on a two-column file, and ``POST /v1/classify-pairs`` / ``/v1/score`` with
``{"pairs": [["a", "b"], ...]}``.

Segment ids: lmforge feeds models input ids and attention masks only (every backend, the batcher and the
ONNX export), so segment B would read as segment A. Instead of carrying ``token_type_ids`` through every
stage, the pair tasks make the two segment embeddings equal and keep them frozen: the model then sees the
pair through its ``[SEP]`` alone, and plain transformers (which passes ``token_type_ids`` from
``tokenizer(a, b)``) gives exactly the predictions lmforge gives.

    >>> task = get_task("pair-regression")
    >>> ids, _ = task.encode(tokenizer, [("A plane is taking off.", "An air plane is taking off.")], 128)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from lmforge.data.examples import LABEL_COLUMNS, LabeledTexts, choose_column
from lmforge.data.sources import iter_records, peek_columns
from lmforge.errors import DataError
from lmforge.files import sha256_file
from lmforge.tasks.regression import TARGET_COLUMNS, NumericTargets, Regression, parse_target
from lmforge.tasks.registry import register_task
from lmforge.tasks.text_classification import TextClassification

PAIR_COLUMNS = (("text_a", "text_b"), ("sentence1", "sentence2"), ("question1", "question2"),
                ("sentence_a", "sentence_b"), ("text1", "text2"), ("query", "passage"), ("premise", "hypothesis"),
                ("sentence", "sentence2"), ("question", "sentence"))
BOM = "\ufeff"


def pair_records(path: Path, encoding: str) -> tuple[list[str], Iterator[tuple[int, int, dict]]]:
    """(columns, rows of (row, line, fields)); a single column holding tabs is split into column_1 … column_n."""
    columns, sample = peek_columns(path, encoding)
    split = len(columns) == 1 and all("\t" in str(r.fields.get(columns[0], "")) for r in sample)
    if split:
        width = max(len(str(r.fields[columns[0]]).split("\t")) for r in sample)
        columns = [f"column_{i}" for i in range(1, width + 1)]

    def rows():
        for record in iter_records(path, encoding):
            fields = record.fields
            if split:
                fields = dict(zip(columns, str(next(iter(fields.values()), "")).split("\t")))
            yield record.row, record.line, {k: v.replace(BOM, "") if isinstance(v, str) else v
                                            for k, v in fields.items()}

    return columns, rows()


def pair_columns(path: Path, columns: list[str], text_column: str | None, label_column: str | None,
                 label_candidates: tuple[str, ...], need_label: bool) -> tuple[tuple[str, str], str | None]:
    """((first, second) text columns, label column or None)."""
    if text_column is not None:
        names = [c.strip() for c in text_column.split(",")]
        if len(names) != 2:
            raise DataError(f"--text-column '{text_column}' names {len(names)} column(s); a sentence-pair task reads "
                            "two", path=path, hint="pass them as --text-column first,second")
        for name in names:
            choose_column(columns, name, (), "text", path, "--text-column")
        pair = (names[0], names[1])
    elif all(c.startswith("column_") for c in columns) and len(columns) >= 2:
        # headerless: [id,] first, second[, label]
        has_label = label_column is not None or (need_label or len(columns) >= 3)
        last = len(columns) - 1 if has_label else len(columns)
        if last < 2:
            raise DataError(f"has {len(columns)} columns; a labelled sentence pair needs three (first, second, label)",
                            path=path, hint="add the label column, or a header naming the columns")
        pair = (columns[last - 2], columns[last - 1])
        if has_label and label_column is None:
            label_column = columns[-1]
    else:
        lowered = {c.lower(): c for c in columns}
        found = [(lowered[a], lowered[b]) for a, b in PAIR_COLUMNS if a in lowered and b in lowered]
        if not found:
            raise DataError(f"no pair of text columns found; the columns are: {', '.join(columns)}", path=path,
                            hint="name them as --text-column first,second (or use text_a/text_b, sentence1/sentence2, "
                                 "question1/question2)")
        pair = found[0]
    rest = [c for c in columns if c not in pair]
    if label_column is None and not need_label and not any(c.lower() in label_candidates for c in rest):
        return pair, None
    label = choose_column(rest if label_column is None else columns, label_column, label_candidates, "label", path,
                          "--label-column")
    return pair, label


def pair_stream(path: Path, text_column: str | None, label_column: str | None, encoding: str, need_label: bool,
                label_candidates: tuple[str, ...]):
    """(``"first,second"``, label column, rows of (row, (a, b), raw label or None)); empty texts are DataErrors."""
    columns, records = pair_records(path, encoding)
    (first, second), label_col = pair_columns(path, columns, text_column, label_column, label_candidates, need_label)

    def rows():
        for row, line, fields in records:
            pair = []
            for column in (first, second):
                text = fields.get(column)
                if text is None or not str(text).strip():
                    raise DataError("the text is empty", path=path, row=row, line=line, column=column,
                                    hint="give both texts of every pair, or drop the row")
                pair.append(str(text))
            label = None
            if label_col is not None:
                raw = fields.get(label_col)
                label = None if raw is None else str(raw).strip()
                if not label:
                    raise DataError("the label is empty", path=path, row=row, line=line, column=label_col,
                                    hint="give every row a label, or drop unlabelled rows")
            yield row, (pair[0], pair[1]), label

    return f"{first},{second}", label_col, rows()


def as_pairs(inputs: Sequence) -> tuple[list[str], list[str]]:
    """(first texts, second texts) of ``inputs``, each an (a, b) tuple or a two-item list (from JSON)."""
    firsts, seconds = [], []
    for i, item in enumerate(inputs):
        if isinstance(item, str) or len(item) != 2:
            raise DataError(f"input {i} is {type(item).__name__} {str(item)[:60]!r}; a sentence-pair model reads "
                            "(first, second) pairs", hint="pass [(a, b), ...], or a file with two text columns")
        firsts.append(str(item[0]))
        seconds.append(str(item[1]))
    return firsts, seconds


def encode_pairs(tokenizer, inputs: Sequence, max_length: int) -> tuple[list[list[int]], int]:
    """``[CLS] a [SEP] b [SEP]`` ids per pair, the longer text cut first, and how many pairs were cut."""
    firsts, seconds = as_pairs(inputs)
    ids = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length)["input_ids"]
    return ids, sum(1 for x in ids if len(x) == max_length)


def tie_segment_embeddings(model) -> None:
    """Make every segment (token type) embedding equal to segment A's and freeze them (module docstring)."""
    import torch

    embeddings = getattr(getattr(model, "base_model", None), "embeddings", None)
    token_types = getattr(embeddings, "token_type_embeddings", None)
    if token_types is None or token_types.weight.shape[0] < 2:
        return
    with torch.no_grad():
        token_types.weight[1:] = token_types.weight[0]
    token_types.weight.requires_grad_(False)


@register_task
class PairClassification(TextClassification):
    name = "pair-classification"
    serving_route = "/v1/classify-pairs"
    response_schema = "ClassifyResponse"

    def read_stream(self, path, *, text_column=None, label_column=None, encoding="utf-8", need_label=True):
        return pair_stream(Path(path), text_column, label_column, encoding, need_label, LABEL_COLUMNS)

    def read(self, path, *, text_column=None, label_column=None, encoding="utf-8") -> LabeledTexts:
        path = Path(path)
        text_col, label_col, rows = self.read_stream(path, text_column=text_column, label_column=label_column,
                                                     encoding=encoding)
        rows = list(rows)
        return LabeledTexts([x for _, x, _ in rows], [y for _, _, y in rows], [r for r, _, _ in rows], path,
                            text_col, label_col, sha256_file(path))

    def build_model(self, model_dir: Path, labels: list[str]):
        model, new = super().build_model(model_dir, labels)
        tie_segment_embeddings(model)
        return model, new

    def encode(self, tokenizer, inputs, max_length: int):
        return encode_pairs(tokenizer, inputs, max_length)

    def baseline(self, output: Path, manifest: dict, train: LabeledTexts, dev: LabeledTexts) -> dict:
        # TF-IDF + logistic regression on the two texts joined: a bag of words of both (a weak but honest floor);
        # saved as a pair-classification model, its tokenizer joins the pairs it is given the same way
        from lmforge.models.tfidf import join_pair

        joined = lambda data: replace(data, texts=[join_pair(a, b) for a, b in data.texts])  # noqa: E731
        return super().baseline(output, manifest, joined(train), joined(dev))


ORDERED_PAIRS = {("query", "passage"), ("premise", "hypothesis"), ("question", "sentence")}


@register_task
class PairRegression(Regression):
    name = "pair-regression"

    def augment(self, train: NumericTargets, mode: str = "auto") -> tuple[NumericTargets, dict | None]:
        """The training pairs plus each one in its other order, (b, a) with a's score: a similarity is
        symmetric, and a cross-encoder reads ``[CLS] a [SEP] b`` in order (SBERT's cross-encoder STS-B recipe
        trains on both). STS-B, 2 seeds: dev Spearman 0.8655 / 0.8651 against 0.8597 / 0.8598 one way, and
        0.8556 for one way at the same step count (bench/RESULTS.md). Off for ordered columns."""
        columns = tuple(c.strip().lower() for c in train.text_column.split(","))
        if mode == "off" or (mode == "auto" and columns in ORDERED_PAIRS):
            return train, None
        swapped = [(b, a) for a, b in train.texts]
        both = NumericTargets(train.texts + swapped, train.values * 2, train.rows * 2, train.path,
                              train.text_column, train.label_column, train.sha256)
        return both, {"value": True, "reason": f"{len(train):,} pairs trained in both orders ({len(both):,} "
                                               "examples): a similarity score does not depend on the order"}

    def read_stream(self, path, *, text_column=None, label_column=None, encoding="utf-8", need_label=True):
        path = Path(path)
        text_col, label_col, rows = pair_stream(path, text_column, label_column, encoding, need_label,
                                                TARGET_COLUMNS)
        return text_col, label_col, ((row, pair, None if gold is None else parse_target(gold, path, row, label_col))
                                     for row, pair, gold in rows)

    def build_model(self, model_dir: Path, labels: list[str]):
        model, new = super().build_model(model_dir, labels)
        tie_segment_embeddings(model)
        return model, new

    def encode(self, tokenizer, inputs, max_length: int):
        return encode_pairs(tokenizer, inputs, max_length)


__all__ = ["NumericTargets", "PairClassification", "PairRegression", "encode_pairs", "pair_stream"]
