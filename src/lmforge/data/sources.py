"""Readers for labelled text in the layouts datasets are published in, all behind :func:`iter_records`.

    CSV, TSV (with or without a header)      .csv .tsv .tab
    any other text file, sniffed              .txt .data … : delimited (``sentence<TAB>label``) or one text per
                                              line (:mod:`lmforge.data.sniffing`); CoNLL column files
    JSON Lines; JSON documents                .jsonl .ndjson; .json (splits of pairs or objects,
                                              :mod:`lmforge.data.json_documents`)
    Parquet; Excel                            .parquet .pq; .xlsx (:mod:`lmforge.data.excel`, read-only)
    directories                               one text per file in label folders, or one line file per label
                                              (:mod:`lmforge.data.folders`)

Every reader streams (JSON documents and Excel sheets aside, which are parsed whole): it yields one
:class:`Record` at a time. Errors name the file, the data row (1-based, header excluded), the physical line
and the column, and say what to do. Undecodable bytes are reported with their byte offset.

A source may hold several splits (a JSON document's keys, a workbook's sheets, a folder's ``train/`` and
``test/``): :func:`list_splits` names them and :func:`choose_split` picks one by ``--split`` or by role.

    >>> for record in iter_records("train.csv"):
    ...     record.row, record.line, record.fields["text"]
    >>> choose_split("data_full.json", None, "dev")
    'val'
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from lmforge.data.decoding import decoded_lines
from lmforge.data.records import Record
from lmforge.errors import DataError

FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".parquet": "parquet", ".pq": "parquet", ".txt": "text", ".conll": "conll", ".xlsx": "xlsx", ".xlsm": "xlsx",
}
# Split names by the role they play; the first present is taken when --split is not given.
SPLIT_ROLES = {"train": ("train", "training"), "dev": ("dev", "val", "valid", "validation", "development"),
               "test": ("test", "testing", "eval", "dev", "val", "valid", "validation")}
# Column names that identify a header row when a file does not say whether it has one.
KNOWN_COLUMN_NAMES = {
    "text", "sentence", "sentence1", "content", "document", "review", "utterance", "query", "question",
    "body", "tweet", "description", "label", "labels", "category", "class", "intent", "target",
    "sentiment", "topic", "y", "id",
}

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,39}")
HEADER_SAMPLE_ROWS = 20  # rows read ahead to tell a header from data

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long documents are legitimate text


def detect_format(path: Path) -> str:
    """The reader for ``path``: by suffix, else by content ("sniff": delimited, JSON or plain text)."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError("is an old binary Excel file (.xls), which lmforge does not read", path=path,
                        hint="save it as .xlsx (or export a CSV) and pass that")
    fmt = FORMATS.get(suffix)
    if fmt is not None:
        return fmt
    with open(path, "rb") as f:
        head = f.read(4096)
    if b"\0" in head:
        raise DataError(f"looks binary, not text (file type '{suffix or '(none)'}')", path=path,
                        hint=f"pass a text file, or one of {', '.join(sorted(FORMATS))}")
    start = head.lstrip()[:1]
    if start in (b"{", b"["):
        return "json"
    return "text"


def _delimited_records(path: Path, delimiter: str, encoding: str, header: bool | None) -> Iterator[Record]:
    lines = decoded_lines(path, encoding)
    # TSV files in the wild (GLUE, SST-2, AG News) never quote fields and contain bare quote characters.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(lines, delimiter=delimiter, quoting=quoting, strict=True)
    try:
        first = next(reader, None)
        first_end = reader.line_num
    except csv.Error as e:
        raise DataError(f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {e}", path=path, line=1) from None
    if first is None:
        raise DataError("the file is empty", path=path, hint="check the path, or that the export finished")
    following = _rows_and_lines(reader)
    ahead: list[tuple[list[str], int]] = []
    if header is None:
        try:
            ahead.extend(itertools.islice(following, HEADER_SAMPLE_ROWS))
        except csv.Error as e:  # reported when the reader reaches that row, with its location
            following = _raising(e)
        header = looks_like_header(first, [values for values, _ in ahead])
    if header:
        columns = [c.strip() for c in first]
        if len(set(columns)) != len(columns):
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            raise DataError(f"duplicate column names {dupes}", path=path, line=1, hint="rename the columns")
        start_line, row = first_end + 1, 0
        pending = ahead
    else:
        columns = [f"column_{i + 1}" for i in range(len(first))]
        start_line, row, pending = 1, 0, [(first, first_end), *ahead]
    rows = itertools.chain(pending, following)
    while True:
        try:
            values, end_line = next(rows)
        except StopIteration:
            break
        except csv.Error as e:
            raise DataError(f"malformed CSV: {e}", path=path, row=row + 1, line=start_line,
                            hint="check the quotes around this row's fields") from None
        row += 1
        if not values or values == [""]:  # blank line
            start_line = end_line + 1
            continue
        if len(values) != len(columns):
            first_row = "the header has" if header else "the first row has"
            raise DataError(
                f"has {len(values)} fields but {first_row} {len(columns)} ({', '.join(columns)})",
                path=path, row=row, line=start_line,
                hint="check for an unquoted delimiter in the text, or a missing field",
            )
        yield Record(row, start_line, dict(zip(columns, values)))
        start_line = end_line + 1


def _rows_and_lines(reader) -> Iterator[tuple[list[str], int]]:
    """(fields, physical line where the row ends) of each row a csv.reader reads."""
    for values in reader:
        yield values, reader.line_num


def _raising(error: Exception) -> Iterator:
    raise error
    yield  # a generator: raises when the reader reaches the row that failed


def looks_like_header(values: list[str], rest: list | None = None) -> bool:
    """A first row is a header when it names a column we know (``text``, ``label``, ``sentence`` …); or when
    every field is a short identifier (``body_text``, ``Intent Name``) rather than prose or a number — unless
    the rows below (``rest``) show otherwise: a field whose column is numeric below while it is not makes
    the row a header; a value that recurs in a column of few distinct values (a label) makes it data."""
    cleaned = [v.strip() for v in values]
    if any(v.lower() in KNOWN_COLUMN_NAMES for v in cleaned):
        return True
    below_rows = [r for r in rest or [] if len(r) == len(values)]
    for i, value in enumerate(cleaned):
        below = [str(r[i]).strip() for r in below_rows]
        if below and all(_is_number(b) for b in below) and not _is_number(value):
            return True
        if value and value in below and len(set(below)) <= max(2, len(below) // 2):
            return False
    return all(IDENTIFIER.fullmatch(v) for v in cleaned)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


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


def iter_records(path: str | Path, encoding: str = "utf-8", header: bool | None = None,
                 split: str | None = None) -> Iterator[Record]:
    """Stream the rows of a source (a file or a directory, see the module docstring) as :class:`Record`.

    ``header=None`` detects a header row in delimited files and sheets (see :func:`looks_like_header`);
    headerless columns are named ``column_1``, ``column_2`` …. ``split`` names the split of a multi-split
    source (None: its only split, else an error listing them).
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path, hint="check the path")
    fmt = detect_format(path)
    if fmt != "folder" and path.stat().st_size == 0:
        raise DataError("the file is empty", path=path, hint="check the path, or that the export finished")
    splits = list_splits(path, encoding)
    if split is None and len(splits) > 1:
        raise DataError(f"holds several splits ({', '.join(splits)}); which one to read is not clear",
                        path=path, hint="pick one with --split NAME")
    if split is not None and not splits:
        raise DataError(f"has no splits, so --split {split} does not apply", path=path, hint="drop --split")
    split = split if split is not None else (splits[0] if splits else None)
    if fmt == "folder":
        from lmforge.data.folders import iter_folder_records

        return iter_folder_records(path, encoding, split)
    if fmt == "xlsx":
        from lmforge.data.excel import iter_xlsx_records

        return iter_xlsx_records(path, split, header, looks_like_header)
    if fmt == "csv":
        return _delimited_records(path, ",", encoding, header)
    if fmt == "tsv":
        return _delimited_records(path, "\t", encoding, header)
    if fmt == "parquet":
        return _parquet_records(path)
    if fmt == "json":
        from lmforge.data.json_documents import is_json_lines, iter_json_records

        if not is_json_lines(path, encoding):
            return iter_json_records(path, encoding, split)
        fmt = "jsonl"
    if fmt == "jsonl":
        return _jsonl_records(path, encoding)
    from lmforge.data.conll import looks_like_conll

    if fmt == "conll" or looks_like_conll(path, encoding):  # CoNLL-2003 ships as .txt
        return _conll_records(path, encoding)
    layout = text_layout(path, encoding)
    if layout.delimiter is not None:
        return _delimited_records(path, layout.delimiter, encoding, header)
    return _text_records(path, encoding)


def text_layout(path: Path, encoding: str = "utf-8"):
    """How a text file of no declared format is laid out (:func:`lmforge.data.sniffing.sniff_delimiter`)."""
    from lmforge.data.sniffing import SAMPLE_LINES, sniff_delimiter

    return sniff_delimiter(list(itertools.islice(decoded_lines(path, encoding), SAMPLE_LINES)))


def list_splits(path: str | Path, encoding: str = "utf-8") -> list[str]:
    """The splits of a multi-split source (JSON document keys, workbook sheets, split folders), else ``[]``."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "folder":
        from lmforge.data.folders import folder_layout

        layout = folder_layout(path)
        return layout.splits if layout else []
    if fmt == "json":
        from lmforge.data.json_documents import json_splits

        return json_splits(path, encoding)
    if fmt == "xlsx":
        from lmforge.data.excel import xlsx_sheets

        return xlsx_sheets(path)
    return []


def find_split(path: str | Path, role: str, exclude: str | None = None, encoding: str = "utf-8") -> str | None:
    """The split of ``path`` named like ``role`` ("dev": dev, val, valid …) other than ``exclude``, or None."""
    names = {n.lower(): n for n in list_splits(path, encoding) if n != exclude}
    return next((names[c] for c in SPLIT_ROLES[role] if c in names), None)


def choose_split(path: str | Path, split: str | None, role: str, encoding: str = "utf-8") -> str | None:
    """The split of ``path`` to read as ``role`` ("train", "dev" or "test"): ``split`` when given (checked),
    else the first split named like the role (``val`` for dev …), else its only one. None: no splits."""
    path = Path(path)
    if not path.exists():
        return split  # iter_records says the file is missing
    names = list_splits(path, encoding)
    if not names or split is not None:
        if split is not None and names and split not in names:
            raise DataError(f"has no split '{split}'; its splits are: {', '.join(names)}", path=path,
                            hint="pass --split with one of those names")
        return split
    lowered = {n.lower(): n for n in names}
    for candidate in SPLIT_ROLES.get(role, ()):
        if candidate in lowered:
            return lowered[candidate]
    if len(names) == 1:
        return names[0]
    raise DataError(f"holds several splits ({', '.join(names)}) and none is named like {role} data", path=path,
                    hint="pick one with --split NAME")


def _conll_records(path: Path, encoding: str) -> Iterator[Record]:
    """One record per sentence of a CoNLL column file (see :mod:`lmforge.data.conll`)."""
    from lmforge.data.conll import iter_conll_sentences

    for row, sentence in enumerate(iter_conll_sentences(path, encoding), start=1):
        yield Record(row, sentence.line, {"text": " ".join(sentence.tokens), "tags": " ".join(sentence.tags)})


def peek_columns(path: str | Path, encoding: str = "utf-8", header: bool | None = None,
                 sample_rows: int = 200, split: str | None = None) -> tuple[list[str], list[Record]]:
    """The column names and the first ``sample_rows`` records (used to detect text and label columns)."""
    sample: list[Record] = []
    columns: list[str] = []
    for record in iter_records(path, encoding, header, split):
        for key in record.fields:
            if key not in columns:
                columns.append(key)
        sample.append(record)
        if len(sample) >= sample_rows:
            break
    if not sample:
        raise DataError("has no data rows", path=path, hint="the file holds only a header or blank lines")
    return columns, sample
