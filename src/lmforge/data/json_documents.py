"""JSON documents (one value for the whole file) as rows, each located by its line.

The layouts datasets are published in:

    {"train": [["text", "label"], …], "val": […], "test": […]}      splits of [text, label] pairs (CLINC150)
    {"train": [{"text": …, "label": …}, …], "test": […]}            splits of objects
    [{"text": …, "label": …}, …]   or   [["text", "label"], …]       one split

A pair or list becomes fields ``column_1``, ``column_2`` … (the headerless rule then takes the longer one
as the text); an object keeps its keys. A ``.json`` file that is really JSON Lines (one object per line,
as many exports are) is read as JSON Lines.

The document is read whole (use JSON Lines for files that do not fit in memory); rows are then walked
with ``raw_decode`` so each one is reported with its line.

    >>> json_splits(Path("data_full.json"))
    ['oos_test', 'oos_train', 'oos_val', 'test', 'train', 'val']
    >>> next(iter_json_records(Path("data_full.json"), "utf-8", "train")).fields
    {'column_1': 'what expression would i use to say i love you if i were an italian', 'column_2': 'translate'}
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from pathlib import Path

from lmforge.data.records import Record
from lmforge.errors import DataError

WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Document:
    """The decoded text of a JSON file and where each of its top-level row lists starts."""

    def __init__(self, path: Path, encoding: str):
        from lmforge.data.decoding import decoded_lines

        self.path = path
        self.text = "".join(decoded_lines(path, encoding))
        self.newlines = [m.start() for m in re.finditer("\n", self.text)]
        try:
            value = json.loads(self.text)
        except json.JSONDecodeError as e:
            if e.msg == "Extra data" and e.lineno > 1:
                raise _JsonLines() from None
            raise DataError(f"is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})", path=path,
                            line=e.lineno, hint="fix the file, or write one JSON object per line (.jsonl)") from None
        self.splits: dict[str, int] = {}   # split name → offset of its '['
        self.single: int | None = None     # offset of the '[' of a top-level list
        start = WHITESPACE.match(self.text).end()
        if isinstance(value, list):
            self.single = start
        elif isinstance(value, dict) and any(isinstance(v, list) for v in value.values()):
            self.splits = self._split_offsets(start)
        else:
            what = "object without any list of rows" if isinstance(value, dict) else type(value).__name__
            raise DataError(f"holds a JSON {what}", path=path,
                            hint='expected a list of rows, or splits of them: {"train": [[text, label], …], '
                                 '"test": […]}')

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1

    def _split_offsets(self, start: int) -> dict[str, int]:
        found, i = {}, WHITESPACE.match(self.text, start + 1).end()  # past the '{'
        while self.text[i] != "}":
            key, i = _DECODER.raw_decode(self.text, i)
            i = WHITESPACE.match(self.text, i).end() + 1  # past the ':'
            i = WHITESPACE.match(self.text, i).end()
            value_start = i
            value, i = _DECODER.raw_decode(self.text, i)
            if isinstance(value, list):
                found[key] = value_start
            i = WHITESPACE.match(self.text, i).end()
            if self.text[i] == ",":
                i = WHITESPACE.match(self.text, i + 1).end()
        return found

    def rows(self, offset: int) -> Iterator[tuple[int, object]]:
        """(line, value) of each element of the list starting at ``offset``."""
        i = WHITESPACE.match(self.text, offset + 1).end()
        while self.text[i] != "]":
            value, end = _DECODER.raw_decode(self.text, i)
            yield self.line(i), value
            i = WHITESPACE.match(self.text, end).end()
            if self.text[i] == ",":
                i = WHITESPACE.match(self.text, i + 1).end()


class _JsonLines(Exception):
    """Raised while reading a document that turns out to be JSON Lines."""


def is_json_lines(path: Path, encoding: str) -> bool:
    try:
        _Document(path, encoding)
    except _JsonLines:
        return True
    return False


def json_splits(path: Path, encoding: str = "utf-8") -> list[str]:
    """The split names of a document (``[]`` for a single list of rows, or for JSON Lines)."""
    try:
        return sorted(_Document(path, encoding).splits)
    except _JsonLines:
        return []


def iter_json_records(path: Path, encoding: str, split: str | None):
    """Records of the document's rows (of ``split`` when it has splits)."""
    doc = _Document(path, encoding)
    if doc.single is not None:
        offset = doc.single
    else:
        offset = doc.splits[split] if split in doc.splits else None
        if offset is None:
            raise DataError(f"has no split '{split}'; its splits are: {', '.join(sorted(doc.splits))}", path=path,
                            hint="pass --split with one of those names")

    def records() -> Iterator[Record]:
        for row, (line, value) in enumerate(doc.rows(offset), start=1):
            yield Record(row, line, _fields(value, path, row, line))

    return records()


def _fields(value: object, path: Path, row: int, line: int) -> dict[str, object]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {f"column_{i + 1}": v for i, v in enumerate(value)}
    if isinstance(value, str):
        return {"text": value}
    raise DataError(f"holds a JSON {type(value).__name__}, not a row", path=path, row=row, line=line,
                    hint='each row must be [text, label], {"text": …, "label": …} or a text')
