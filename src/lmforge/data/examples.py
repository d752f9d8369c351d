"""Labelled texts for classification: column detection, validation and the label set.

    >>> train = load_labeled_texts("train.csv")               # columns detected
    >>> labels = LabelSet.from_labels(train.labels)          # stable order, saved with the model
    >>> dev = load_labeled_texts("dev.csv", text_column=train.text_column, label_column=train.label_column)
    >>> labels.check(dev)                                    # DataError on a label never seen in training
    >>> load_labeled_texts("data_full.json", split="val")    # one split of a multi-split source
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.data.records import Record
from lmforge.data.sources import choose_split, detect_format, iter_records, peek_columns, text_layout
from lmforge.errors import DataError
from lmforge.files import sha256_file

TEXT_COLUMNS = ("text", "sentence", "sentence1", "content", "document", "review", "utterance", "query",
                "question", "body", "tweet", "description",
                "text_a", "comment", "passage")  # GLUE/CLUE-style names (single-text tasks)
LABEL_COLUMNS = ("label", "labels", "category", "class", "intent", "target", "sentiment", "topic", "y",
                 "label_id", "gold_label", "polarity", "emotion")


@dataclass
class LabeledTexts:
    """Texts with their labels (strings) and the source row of each, as read from one file."""

    texts: list[str]
    labels: list[str]
    rows: list[int]
    path: Path | None = None
    text_column: str = "text"
    label_column: str = "label"
    sha256: str = ""
    split: str | None = None  # the split read, for a multi-split source

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> LabeledTexts:
        return LabeledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices],
                            [self.rows[i] for i in indices], self.path, self.text_column, self.label_column,
                            self.sha256, self.split)

    def describe(self) -> dict:
        """What the manifest records about an input: where, fingerprint, size and label distribution."""
        described = {
            "path": str(self.path) if self.path else None, "sha256": self.sha256, "rows": len(self),
            "text_column": self.text_column, "label_column": self.label_column,
            "label_distribution": dict(sorted(Counter(self.labels).items())),
        }
        if self.split is not None:
            described["split"] = self.split
        return described


@dataclass
class LabelSet:
    """The ordered class names. Integer-like labels sort numerically (``0, 1, 2, 10``), others by name."""

    names: list[str] = field(default_factory=list)

    @classmethod
    def from_labels(cls, labels: Sequence[str]) -> LabelSet:
        distinct = set(labels)
        if all(_is_int(x) for x in distinct):
            return cls(sorted(distinct, key=int))
        return cls(sorted(distinct))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def encode(self, data: LabeledTexts) -> list[int]:
        """Label ids for ``data``; a label never seen in training is a :class:`DataError` naming the row."""
        index = self.index
        ids = []
        for label, row in zip(data.labels, data.rows):
            if label not in index:
                shown = ", ".join(self.names[:20]) + (" …" if len(self.names) > 20 else "")
                raise DataError(
                    f"label '{label}' never occurs in the training data (known: {shown})",
                    path=data.path, row=row, column=data.label_column,
                    hint="fix the label, add examples of it to the training file, or drop this row",
                )
            ids.append(index[label])
        return ids


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def choose_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...], role: str,
                  path: Path, flag: str, exclude: str | None = None) -> str:
    """Pick the text or label column: the one named, else the single known name present."""
    if wanted is not None:
        if wanted not in columns:
            numbered = " (the file has no header row, so its columns are numbered)" if all(
                c.startswith("column_") for c in columns) else ""
            raise DataError(f"no {role} column '{wanted}'; the columns are: {', '.join(columns)}{numbered}",
                            path=path, hint=f"pass {flag} with one of those names")
        return wanted
    lowered = {c.lower(): c for c in columns if c != exclude}
    found = [lowered[name] for name in candidates if name in lowered]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise DataError(f"several columns could hold the {role}: {', '.join(found)}", path=path,
                        hint=f"say which with {flag}")
    raise DataError(f"no {role} column found; the columns are: {', '.join(columns)}", path=path,
                    hint=f"name it with {flag}")


def detect_columns(path: Path, columns: list[str], sample: list[Record], text_column: str | None,
                   label_column: str | None, need_label: bool) -> tuple[str, str | None]:
    """Resolve (text column, label column). Headerless two-column files: the longer column is the text."""
    if need_label and len(columns) == 1 and text_column in (None, columns[0]):
        raise single_column_error(path, columns[0])
    headerless = all(c.startswith("column_") for c in columns)
    if headerless and text_column is None and len(columns) == 2:
        mean_len = {c: sum(len(str(r.fields.get(c, ""))) for r in sample) for c in columns}
        text_column = max(columns, key=mean_len.__getitem__)
        if label_column is None:
            label_column = next(c for c in columns if c != text_column)
    if headerless and text_column is None and len(columns) == 1:
        text_column = columns[0]
    text = choose_column(columns, text_column, TEXT_COLUMNS, "text", path, "--text-column")
    if not need_label and label_column is None and not any(c.lower() in LABEL_COLUMNS for c in columns):
        return text, None
    label = choose_column(columns, label_column, LABEL_COLUMNS, "label", path, "--label-column", exclude=text)
    return text, label


def single_column_error(path: Path, column: str) -> DataError:
    """The error for a labelled-data role given a file read as one column: naming a label column cannot
    help there, so say how the file was read and what a labelled file looks like."""
    how = ""
    if path.is_file() and detect_format(path) == "text":
        how = f": one text per line ({text_layout(path).reason})"
    return DataError(
        f"was read as one column ('{column}') with no label{how}", path=path,
        hint="a training or evaluation file needs a label on every row: write lines of text<TAB>label (a .txt "
             "with one tab on each line is read as two columns), or use CSV/TSV/JSONL/JSON/XLSX with a label "
             "column, or a folder per label")


def where(path: Path, split: str | None) -> str:
    """How errors name a source: the path, and the split read from it."""
    return f"{path} [split {split}]" if split is not None else str(path)


def iter_texts(path: str | Path, text_column: str | None = None, label_column: str | None = None,
               encoding: str = "utf-8", need_label: bool = False, split: str | None = None
               ) -> tuple[str, str | None, Iterator[tuple[int, str, str | None]]]:
    """Stream ``(row, text, label or None)`` from a source after resolving its columns.

    Returns ``(text_column, label_column, rows)``. Empty texts and missing labels raise
    :class:`DataError` naming the row (and the file it came from, for a directory). ``split``: the split of
    a multi-split source (see :func:`lmforge.data.sources.choose_split`).
    """
    path = Path(path)
    columns, sample = peek_columns(path, encoding, split=split)
    text_col, label_col = detect_columns(path, columns, sample, text_column, label_column, need_label)
    shown = where(path, split)

    def rows() -> Iterator[tuple[int, str, str | None]]:
        for record in iter_records(path, encoding, split=split):
            source = record.origin or shown
            text = record.fields.get(text_col)
            if text is None or not str(text).strip():
                raise DataError("the text is empty", path=source, row=record.row, line=record.line,
                                column=text_col,
                                hint="remove the row, or clean the file first with `lmforge data prepare`")
            label = None
            if label_col is not None:
                raw = record.fields.get(label_col)
                label = None if raw is None else str(raw).strip()
                if not label:
                    raise DataError("the label is empty", path=source, row=record.row, line=record.line,
                                    column=label_col, hint="give every row a label, or drop unlabelled rows")
            yield record.row, str(text), label

    return text_col, label_col, rows()


def load_labeled_texts(path: str | Path, text_column: str | None = None, label_column: str | None = None,
                       encoding: str = "utf-8", split: str | None = None, role: str = "train") -> LabeledTexts:
    """Read a whole labelled source into memory (training and dev sets). For a multi-split source, ``split``
    names the split; without it the split named like ``role`` ("train", "dev", "test") is read."""
    path = Path(path)
    split = choose_split(path, split, role, encoding)
    text_col, label_col, rows = iter_texts(path, text_column, label_column, encoding, need_label=True, split=split)
    texts, labels, row_ids = [], [], []
    for row, text, label in rows:
        row_ids.append(row)
        texts.append(text)
        labels.append(label)
    return LabeledTexts(texts, labels, row_ids, path, text_col, label_col or "label", sha256_file(path), split)
