"""Rows of labelled-text files for inspection and preparation: columns detected, nothing refused.

The training readers (:func:`lmforge.data.examples.iter_texts`) stop at the first empty text or label;
cleaning must see those rows to count them and list them in ``removed.jsonl``, so here they come through
as ``""`` and ``None``.

    >>> source = open_rows("train.csv")
    >>> source.text_column, source.label_column
    ('text', 'label')
    >>> for row, text, label in source.rows: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lmforge.data.examples import detect_columns
from lmforge.data.sources import iter_records, peek_columns


@dataclass
class RowSource:
    path: Path
    columns: list[str]
    text_column: str
    label_column: str | None
    rows: Iterator[tuple[int, str, str | None]]


def open_rows(path: str | Path, text_column: str | None = None, label_column: str | None = None,
              encoding: str = "utf-8") -> RowSource:
    path = Path(path)
    columns, sample = peek_columns(path, encoding)
    text_col, label_col = detect_columns(path, columns, sample, text_column, label_column, need_label=False)

    def rows() -> Iterator[tuple[int, str, str | None]]:
        for record in iter_records(path, encoding):
            text = record.fields.get(text_col)
            label = record.fields.get(label_col) if label_col is not None else None
            label = None if label is None or not str(label).strip() else str(label).strip()
            yield record.row, "" if text is None else str(text), label

    return RowSource(path, columns, text_col, label_col, rows())


def chunked(rows: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
