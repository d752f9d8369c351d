"""Reading a text file's lines with strict decoding that says where a bad byte is (every reader uses it)."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from lmforge.errors import DataError


def decoded_lines(path: Path, encoding: str = "utf-8", chunk_bytes: int = 1 << 20) -> Iterator[str]:
    """Yield the lines of ``path`` with their line endings, decoding strictly.

    Decoding is incremental so a bad byte is reported with its absolute offset and line number, which
    ``open(..., errors="strict")`` cannot do.
    """
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'", path=path,
                        hint="name a Python codec such as utf-8, cp1252 or latin-1") from None
    offset, line_no, pending = 0, 1, ""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_bytes)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                bad = offset + e.start
                line_no += chunk[:e.start].count(b"\n")  # lines completed before the bad byte
                raise DataError(
                    f"byte {bad} (0x{chunk[e.start]:02x}) is not valid {encoding}", path=path, line=line_no,
                    hint="pass --encoding with the file's real encoding (often cp1252 or latin-1), "
                         "or re-save the file as UTF-8",
                ) from None
            offset += len(chunk)
            pending += text
            *complete, pending = pending.split("\n")
            for line in complete:
                line_no += 1
                yield line + "\n"
            if not chunk:
                break
    if pending:
        yield pending
