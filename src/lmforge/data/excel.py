"""Excel workbooks (``.xlsx``), read-only and streamed with openpyxl (the ``excel`` extra).

The first row is a header when it looks like one (as for CSV). A workbook with several sheets is a
multi-split source: each sheet is a split (``--split test``). ``line`` in an error is the Excel row number.
Numbers that are whole (a label typed as ``1``, stored by Excel as ``1.0``) read as ``"1"``.

    >>> next(iter_xlsx_records(Path("labels.xlsx"), None, None)).fields
    {'text': 'where is my card?', 'label': 'card_arrival'}
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lmforge.data.records import Record
from lmforge.errors import DataError, missing_extra


def _open(path: Path):
    try:
        import openpyxl
    except ImportError:
        raise missing_extra("reading Excel files", "excel", "openpyxl") from None
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises zipfile, KeyError and its own types for a bad file
        raise DataError(f"is not a readable .xlsx workbook ({type(e).__name__}: {e})", path=path,
                        hint="open it in Excel or LibreOffice and save it again as .xlsx, or export a CSV") from None


def xlsx_sheets(path: Path) -> list[str]:
    """Sheet names when there are several (splits), else ``[]``."""
    workbook = _open(path)
    try:
        names = list(workbook.sheetnames)
    finally:
        workbook.close()
    return names if len(names) > 1 else []


def cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def iter_xlsx_records(path: Path, split: str | None, header: bool | None, looks_like_header):
    """Records of the sheet ``split`` (None: the first); ``looks_like_header(first_row, rows_below)`` decides
    a header when ``header`` is None (the CSV readers' rule, passed in by :mod:`lmforge.data.sources`)."""
    workbook = _open(path)
    if split is not None and split not in workbook.sheetnames:
        names = ", ".join(workbook.sheetnames)
        workbook.close()
        raise DataError(f"has no sheet '{split}'; its sheets are: {names}", path=path,
                        hint="pass --split with one of those names")
    sheet = workbook[split] if split is not None else workbook.worksheets[0]

    def records() -> Iterator[Record]:
        try:
            rows = ((number, [cell_text(v) for v in values])
                    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1))
            rows = ((n, v) for n, v in rows if any(x is not None and x.strip() for x in v))  # blank rows
            first = next(rows, None)
            if first is None:
                raise DataError("the sheet is empty", path=path, hint="check the sheet, or pick another with --split")
            ahead = [next(rows, None) for _ in range(20)]
            ahead = [a for a in ahead if a is not None]
            width = _width(first[1])
            has_header = header if header is not None else looks_like_header(
                [v or "" for v in first[1][:width]], [[v or "" for v in a[1][:width]] for a in ahead])
            if has_header:
                columns = [(v or f"column_{i + 1}").strip() for i, v in enumerate(first[1][:width])]
                pending = ahead
            else:
                width = max(_width(v) for _, v in [first, *ahead])
                columns = [f"column_{i + 1}" for i in range(width)]
                pending = [first, *ahead]
            row = 0
            for number, values in [*pending, *rows]:
                row += 1
                if _width(values) > len(columns):
                    raise DataError(f"has {_width(values)} cells but the header has {len(columns)} "
                                    f"({', '.join(columns)})", path=path, row=row, line=number,
                                    hint="remove the stray cells right of the table, or give them a header")
                yield Record(row, number, {c: (values[i] if i < len(values) else None) for i, c in enumerate(columns)})
        finally:
            workbook.close()

    return records()


def _width(values: list[str | None]) -> int:
    """Cells up to the last non-empty one."""
    n = len(values)
    while n and (values[n - 1] is None or not values[n - 1].strip()):
        n -= 1
    return n
