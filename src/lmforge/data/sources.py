"""Readers for tabular text files: CSV, TSV, JSONL, Parquet and plain text (one text per line).

Every reader streams: it yields one :class:`Record` at a time, so a file of any size can be read in bounded
memory. Errors name the file, the data row (1-based, header excluded), the physical line and the column,
and say what to do. Undecodable bytes are reported with their byte offset.

    >>> for record in iter_records("train.csv"):
    ...     record.row, record.line, record.fields["text"]
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lmforge.data.decoding import decoded_lines
from lmforge.errors import DataError

FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".pq": "parquet", ".txt": "text", ".conll": "conll",
}
# Column names that identify a header row when a file does not say whether it has one.
KNOWN_COLUMN_NAMES = {
    "text", "sentence", "sentence1", "content", "document", "review", "utterance", "query", "question",
    "body", "tweet", "description", "label", "labels", "category", "class", "intent", "target",
    "sentiment", "topic", "y", "id",
}

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,39}")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long documents are legitimate text


@dataclass(frozen=True)
class Record:
    """One data row. ``row`` counts data rows from 1; ``line`` is the physical line where the row starts."""

    row: int
    line: int
    fields: dict[str, object]


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"unknown file type '{path.suffix or '(none)'}'", path=path,
            hint=f"use one of {', '.join(sorted(FORMATS))}",
        )
    return fmt


def _delimited_records(path: Path, delimiter: str, encoding: str, header: bool | None) -> Iterator[Record]:
    lines = decoded_lines(path, encoding)
    # TSV files in the wild (GLUE, SST-2, AG News) never quote fields and contain bare quote characters.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(lines, delimiter=delimiter, quoting=quoting, strict=True)
    try:
        first = next(reader, None)
    except csv.Error as e:
        raise DataError(f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {e}", path=path, line=1) from None
    if first is None:
        raise DataError("the file is empty", path=path, hint="check the path, or that the export finished")
    if header is None:
        header = looks_like_header(first)
    if header:
        columns = [c.strip() for c in first]
        if len(set(columns)) != len(columns):
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            raise DataError(f"duplicate column names {dupes}", path=path, line=1, hint="rename the columns")
        start_line, row = reader.line_num + 1, 0
        pending: list[str] | None = None
    else:
        columns = [f"column_{i + 1}" for i in range(len(first))]
        start_line, row, pending = 1, 0, first
    while True:
        try:
            values = pending if pending is not None else next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise DataError(f"malformed CSV: {e}", path=path, row=row + 1, line=start_line,
                            hint="check the quotes around this row's fields") from None
        pending = None
        row += 1
        if not values or values == [""]:  # blank line
            start_line = reader.line_num + 1
            continue
        if len(values) != len(columns):
            raise DataError(
                f"has {len(values)} fields but the header has {len(columns)} ({', '.join(columns)})",
                path=path, row=row, line=start_line,
                hint="check for an unquoted delimiter in the text, or a missing field",
            )
        yield Record(row, start_line, dict(zip(columns, values)))
        start_line = reader.line_num + 1


def looks_like_header(values: list[str]) -> bool:
    """A first row is a header when it names a column we know (``text``, ``label``, ``sentence`` …), or when
    every field is a short identifier (``body_text``, ``Intent Name``) rather than prose or a number."""
    if any(v.strip().lower() in KNOWN_COLUMN_NAMES for v in values):
        return True
    return all(IDENTIFIER.fullmatch(v.strip()) for v in values)


def _jsonl_records(path: Path, encoding: str) -> Iterator[Record]:
    row = 0
    for line_no, line in enumerate(decoded_lines(path, encoding), start=1):
        if not line.strip():
            continue
        row += 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"is not valid JSON ({e.msg} at character {e.colno})", path=path, row=row,
                            line=line_no, hint="each line must hold one JSON object") from None
        if not isinstance(obj, dict):
            raise DataError(f"holds a JSON {type(obj).__name__}, not an object", path=path, row=row,
                            line=line_no, hint='write one object per line, e.g. {"text": "…", "label": "…"}')
        yield Record(row, line_no, obj)


def _parquet_records(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"is not a readable Parquet file ({e})", path=path) from None
    row = 0
    for batch in pf.iter_batches(batch_size=8192):
        for obj in batch.to_pylist():
            row += 1
            yield Record(row, row, obj)


def _text_records(path: Path, encoding: str) -> Iterator[Record]:
    row = 0
    for line_no, line in enumerate(decoded_lines(path, encoding), start=1):
        text = line.rstrip("\r\n")
        if text.strip():
            row += 1
            yield Record(row, line_no, {"text": text})


def iter_records(path: str | Path, encoding: str = "utf-8", header: bool | None = None) -> Iterator[Record]:
    """Stream the rows of a CSV/TSV/JSONL/Parquet/text file as :class:`Record`.

    ``header=None`` detects a header row in CSV/TSV files (see :func:`looks_like_header`); headerless
    columns are named ``column_1``, ``column_2`` ….
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path, hint="check the path")
    if path.is_dir():
        raise DataError("is a directory, not a data file", path=path)
    fmt = detect_format(path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", path=path, hint="check the path, or that the export finished")
    if fmt == "csv":
        return _delimited_records(path, ",", encoding, header)
    if fmt == "tsv":
        return _delimited_records(path, "\t", encoding, header)
    if fmt == "jsonl":
        return _jsonl_records(path, encoding)
    if fmt == "parquet":
        return _parquet_records(path)
    from lmforge.data.conll import looks_like_conll

    if fmt == "conll" or looks_like_conll(path, encoding):  # CoNLL-2003 ships as .txt
        return _conll_records(path, encoding)
    return _text_records(path, encoding)


def _conll_records(path: Path, encoding: str) -> Iterator[Record]:
    """One record per sentence of a CoNLL column file (see :mod:`lmforge.data.conll`)."""
    from lmforge.data.conll import iter_conll_sentences

    for row, sentence in enumerate(iter_conll_sentences(path, encoding), start=1):
        yield Record(row, sentence.line, {"text": " ".join(sentence.tokens), "tags": " ".join(sentence.tags)})


def peek_columns(path: str | Path, encoding: str = "utf-8", header: bool | None = None,
                 sample_rows: int = 200) -> tuple[list[str], list[Record]]:
    """The column names and the first ``sample_rows`` records (used to detect text and label columns)."""
    sample: list[Record] = []
    columns: list[str] = []
    for record in iter_records(path, encoding, header):
        for key in record.fields:
            if key not in columns:
                columns.append(key)
        sample.append(record)
        if len(sample) >= sample_rows:
            break
    if not sample:
        raise DataError("has no data rows", path=path, hint="the file holds only a header or blank lines")
    return columns, sample
